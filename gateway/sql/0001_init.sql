-- The gateway owns staff accounts and sessions; their tables come with the back office.
CREATE TABLE gateway_info (
    key   text PRIMARY KEY,
    value text NOT NULL
);
