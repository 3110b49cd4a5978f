-- What the SMS provider answered for a message it accepted (Orange: its resourceURL), to follow
-- a message up with the provider.
ALTER TABLE deliveries ADD COLUMN provider_ref text;
