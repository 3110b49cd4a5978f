-- The dead letters an operator collected from the services' dead-letter queues (``milie
-- dead-letters``): kept here, with their reason, until they are replayed once the cause is fixed.
-- A message is taken off its queue only after its row is committed, so collecting never loses one.
CREATE TABLE dead_letters (
    id             bigserial PRIMARY KEY,
    service        text NOT NULL,            -- whose queue refused it (intake, triage, …)
    message_id     text NOT NULL,
    type           text NOT NULL DEFAULT '',
    routing_key    text NOT NULL DEFAULT '', -- the routing key it was first published with
    correlation_id text,
    reply_to       text,
    headers        jsonb NOT NULL DEFAULT '{}',
    body           bytea NOT NULL,
    reason         text NOT NULL DEFAULT '',
    publisher      text NOT NULL DEFAULT '', -- the RabbitMQ user that published it
    times          integer NOT NULL DEFAULT 1, -- dead-lettered again after a replay: counted
    collected_at   timestamptz NOT NULL DEFAULT now(),
    replayed_at    timestamptz,
    UNIQUE (service, message_id)
);
CREATE INDEX dead_letters_waiting ON dead_letters (service, collected_at) WHERE replayed_at IS NULL;
