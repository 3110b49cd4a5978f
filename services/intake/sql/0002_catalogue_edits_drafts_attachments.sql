-- The catalogue becomes editable by administrators; what they edit, the data files no longer
-- overwrite (``edited_at`` is set), and nothing is ever deleted, only deactivated.
ALTER TABLE bodies ADD COLUMN email text NOT NULL DEFAULT '';
-- Name, location and telephones lower-cased and without accents, for the citizens' search.
ALTER TABLE bodies ADD COLUMN search_text text NOT NULL DEFAULT '';
ALTER TABLE bodies ADD COLUMN edited_at timestamptz;
ALTER TABLE themes ADD COLUMN edited_at timestamptz;
ALTER TABLE places ADD COLUMN active boolean NOT NULL DEFAULT true;
ALTER TABLE places ADD COLUMN edited_at timestamptz;
-- Regions are listed in the order of the data file (the two autonomous districts first).
ALTER TABLE places ADD COLUMN region_position integer NOT NULL DEFAULT 0;

-- The themes offered for a body (a parent theme offers its sub-themes); a body without any row
-- here is offered every theme.
CREATE TABLE body_themes (
    body_id  text NOT NULL REFERENCES bodies (id) ON DELETE CASCADE,
    theme_id text NOT NULL REFERENCES themes (id) ON DELETE CASCADE,
    PRIMARY KEY (body_id, theme_id)
);

-- A citizen's form between « Soumettre votre requête » and « OK »: the typed values and the
-- uploaded files, for a short while. ``owner`` binds it to the browser that filled it (a hash of
-- its form cookie). Once submitted it keeps only the code, to answer a second « OK » the same.
-- Expired drafts are purged with their files.
CREATE TABLE drafts (
    id          uuid PRIMARY KEY,
    owner       text NOT NULL,
    fields      jsonb,
    ready       boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    request_id  uuid REFERENCES requests (id) ON DELETE SET NULL,
    code        char(10),
    nature      text
);
CREATE INDEX drafts_expires_at ON drafts (expires_at);

CREATE TABLE draft_files (
    id           uuid PRIMARY KEY,
    draft_id     uuid NOT NULL REFERENCES drafts (id) ON DELETE CASCADE,
    filename     text NOT NULL,
    content_type text NOT NULL,
    size         integer NOT NULL CHECK (size > 0 AND size <= 5242880),
    data         bytea NOT NULL,
    added_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX draft_files_draft ON draft_files (draft_id, added_at);

-- A request's files, stored in the transaction that stores the request: never one without the
-- other. The content type is the one found in the bytes, not the one the browser declared.
CREATE TABLE attachments (
    id           uuid PRIMARY KEY,
    request_id   uuid NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    filename     text NOT NULL,
    content_type text NOT NULL,
    size         integer NOT NULL CHECK (size > 0 AND size <= 5242880),
    data         bytea NOT NULL,
    added_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachments_request ON attachments (request_id, added_at);

-- PDF, JPEG and PNG are compressed already: do not spend CPU trying again.
ALTER TABLE draft_files ALTER COLUMN data SET STORAGE EXTERNAL;
ALTER TABLE attachments ALTER COLUMN data SET STORAGE EXTERNAL;
