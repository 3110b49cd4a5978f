-- Failed sign-ins counted per key: 'pair' = (login, address), 'address', 'login' (any address).
-- A wait is imposed on 'pair' and 'address'; 'login' only slows the answers down.
CREATE TABLE sign_in_failures (
    scope           text NOT NULL CHECK (scope IN ('pair', 'address', 'login')),
    key             text NOT NULL,
    failures        integer NOT NULL,
    last_failure_at timestamptz NOT NULL DEFAULT now(),
    blocked_until   timestamptz,
    PRIMARY KEY (scope, key)
);
CREATE INDEX sign_in_failures_last ON sign_in_failures (last_failure_at);
