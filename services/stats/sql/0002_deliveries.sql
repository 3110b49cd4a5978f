-- Emails and SMS that reached the provider or failed, per day and medium (notify's outcomes).
CREATE TABLE delivery_counts (
    day     date NOT NULL,
    medium  text NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('sent', 'failed')),
    count   integer NOT NULL DEFAULT 0 CHECK (count >= 0),
    PRIMARY KEY (day, medium, outcome)
);
