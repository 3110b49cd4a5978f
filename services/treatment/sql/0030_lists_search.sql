-- What the focal point's lists need at 200,000 requests across 11 bodies: a search over the
-- message and the contact, and an index behind each list's first page, for one body (a focal
-- point) and for every body (analysts and administrators).

-- Words without accents or capitals (as triage's): « decevant » finds « décevant ». IMMUTABLE
-- so that the search column below can be generated from it.
CREATE FUNCTION fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN lower(translate($1,
        'ÀÂÄÁÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕÚÙÛÜÝàâäáãåçéèêëíìîïñóòôöõúùûüýÿ',
        'AAAAAACEEEEIIIINOOOOOUUUUYaaaaaaceeeeiiiinooooouuuuyy'));

-- The message and the contact (names, email, phone) as words; the purge that empties the
-- contact empties its words too.
ALTER TABLE treatments ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('french'::regconfig, fold(message || ' '
        || coalesce(contact ->> 'first_names', '') || ' '
        || coalesce(contact ->> 'last_name', '') || ' '
        || coalesce(contact ->> 'email', '') || ' '
        || coalesce(contact ->> 'phone', '')))) STORED;
CREATE INDEX treatments_search ON treatments USING gin (search);

-- « Insatisfaits », « Satisfaits », « Sans retour »: closed rows by the citizen's opinion, for
-- one body; and every body's lists (analysts, administrators) by status and opinion.
CREATE INDEX treatments_body_opinion ON treatments (body_id, status, opinion, validated_at,
    request_id);
CREATE INDEX treatments_status ON treatments (status, opinion, validated_at, request_id);
-- « Réclamations », « Suggestions », « Observations », « Motions » (Consultations): by nature,
-- whatever the status, for one body and for every body.
CREATE INDEX treatments_body_nature ON treatments (body_id, nature, validated_at, request_id);
CREATE INDEX treatments_nature ON treatments (nature, validated_at, request_id);

-- The last answer and the last opinion of each row of a page.
CREATE INDEX opinions_request_given ON opinions (request_id, given_at DESC, id DESC);
