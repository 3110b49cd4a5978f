-- Staff accounts. No account exists by default: `milie users create` makes the first ones.
CREATE TABLE staff_accounts (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    login         text NOT NULL UNIQUE CHECK (login = lower(login) AND length(login) BETWEEN 3 AND 64),
    display_name  text NOT NULL,
    role          text NOT NULL
                  CHECK (role IN ('administrator', 'analyst', 'focal-point', 'operator')),
    -- A focal point acts for one public body (intake's catalogue id); no other role has one.
    body_id       text,
    password_hash text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at timestamptz,
    CONSTRAINT focal_point_has_one_body CHECK ((role = 'focal-point') = (body_id IS NOT NULL))
);
