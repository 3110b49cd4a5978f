-- The one-time ids of signed calls are worth a minute each: they need no WAL, and each call's
-- insert then no longer waits for a flush to disk (bench.load: the JSON API lost ~18 % of its
-- rate to that wait). A PostgreSQL crash empties an unlogged table: a call captured on the wire in
-- the minute before such a crash could then be replayed once, until it expires — an attacker
-- who can read the internal network at that moment (which the network policies and TLS are
-- there to prevent).
ALTER TABLE seen_calls SET UNLOGGED;
