-- Which body works on which validated request; filled once request.validated exists.
CREATE TABLE assignments (
    request_id  uuid PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    body_id     text NOT NULL,
    status      text NOT NULL,
    assigned_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assignments_body ON assignments (body_id, status);
