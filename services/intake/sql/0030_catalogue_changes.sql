-- Every copy of intake keeps in memory the catalogue rows a submission names
-- (catalogue_cache.py) and forgets them when a statement changes the catalogue: the copies
-- LISTEN on this channel.
CREATE FUNCTION catalogue_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('milie_catalogue_{schema}', '');
    RETURN NULL;
END $$;
CREATE TRIGGER bodies_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON bodies
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_changed();
CREATE TRIGGER themes_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON themes
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_changed();
CREATE TRIGGER places_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON places
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_changed();
CREATE TRIGGER body_themes_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON body_themes
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_changed();
