-- Ready-made reasons (issue 12): what an analyst picks to reject a request or send it back for
-- reformulation, then completes. Kept by the administrators (« Administration › Motifs »); a
-- reason is never deleted, only withdrawn (``active`` false), like the catalogue's rows.
CREATE TABLE reasons (
    id serial PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('reject', 'reformulate')),
    label text NOT NULL CHECK (length(label) BETWEEN 1 AND 120),
    text text NOT NULL CHECK (length(text) BETWEEN 1 AND 2000),
    position integer NOT NULL DEFAULT 0,
    active boolean NOT NULL DEFAULT true,
    edited_at timestamptz NOT NULL DEFAULT now(),
    edited_by text
);
CREATE INDEX reasons_kind ON reasons (kind, position, id);

INSERT INTO reasons (kind, label, text, position) VALUES
    ('reject', 'Hors du champ de Miliê',
     'Votre requête ne relève pas d''une administration publique : Miliê ne peut pas la traiter.', 1),
    ('reject', 'Propos injurieux ou diffamatoires',
     'Votre requête contient des propos injurieux ou diffamatoires : elle ne peut pas être transmise.', 2),
    ('reject', 'Doublon',
     'Votre requête reprend une requête déjà déposée, qui est en cours d''examen.', 3),
    ('reject', 'Affaire portée devant la justice',
     'Votre requête porte sur une affaire en cours devant la justice : l''administration ne peut pas intervenir.', 4),
    ('reformulate', 'Message incompréhensible',
     'Votre message est difficile à comprendre : pouvez-vous décrire plus clairement votre demande ?', 1),
    ('reformulate', 'Informations manquantes',
     'Il manque des informations pour transmettre votre requête (lieu, date, service concerné).', 2),
    ('reformulate', 'Plusieurs sujets dans une requête',
     'Votre requête traite de plusieurs sujets : gardez-en un seul et déposez une requête pour chacun des autres.', 3);
