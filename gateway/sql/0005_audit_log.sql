-- Who did what, when, from where: sign-ins, failures, sign-outs, refused access, account changes.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    uuid,
    actor_login text NOT NULL,
    action      text NOT NULL,
    target      text,
    address     text NOT NULL,
    detail      text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_actor ON audit_log (actor_login, at DESC);
CREATE INDEX audit_log_action ON audit_log (action, at DESC);
