-- Requests submitted through Open311 GeoReport v2: the channel (named after the API key the
-- gateway checked) that may follow them, and the location the client gave. The location can say
-- where a citizen lives: purge it with the contact.
CREATE TABLE open311_requests (
    request_id     uuid PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
    channel        text NOT NULL,
    lat            double precision CHECK (lat BETWEEN -90 AND 90),
    long           double precision CHECK (long BETWEEN -180 AND 180),
    address_string text,
    submitted_at   timestamptz NOT NULL
);
CREATE INDEX open311_requests_channel ON open311_requests (channel, submitted_at DESC);
