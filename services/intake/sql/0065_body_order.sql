-- The order citizens see the bodies in (issue 12): alphabetical by what the body is about,
-- « Affaires étrangères », « Agriculture », « Budget »…, not by « Ministère de … », which every
-- ministry's name starts with. search_text is the name (first), accents and punctuation gone,
-- lower-cased; the titles and articles in front of the subject are left out.
ALTER TABLE bodies ADD COLUMN sort_key text GENERATED ALWAYS AS (
    regexp_replace(
        search_text,
        '^((garde des sceaux|ministere d etat|ministere|secretariat d etat|de|du|des|la|le|les|l|d|aupres|au|aux) )+',
        ''
    )
) STORED;
CREATE INDEX bodies_sort_key ON bodies (sort_key, id) WHERE active;
