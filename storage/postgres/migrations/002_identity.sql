-- Identity: principals, their registered certificates, and used login nonces.

CREATE TABLE principals (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL CHECK (name <> ''),
    org        text        NOT NULL DEFAULT '',
    roles      text[]      NOT NULL CHECK (cardinality(roles) > 0),
    created_at timestamptz NOT NULL
);

CREATE TABLE principal_certificates (
    fingerprint  text        PRIMARY KEY,           -- hex SHA-256 of der
    principal_id uuid        NOT NULL REFERENCES principals (id),
    subject      text        NOT NULL,
    issuer       text        NOT NULL,
    serial       text        NOT NULL,
    not_after    timestamptz NOT NULL,
    der          bytea       NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX principal_certificates_principal ON principal_certificates (principal_id);

-- A nonce is recorded when a login uses it; the primary key makes a replay fail. Rows past
-- expires_at can be pruned: an expired nonce is refused by its own MAC-protected expiry.
CREATE TABLE used_login_nonces (
    nonce      text        PRIMARY KEY,
    used_at    timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

---- create above / drop below ----

DROP TABLE used_login_nonces;
DROP TABLE principal_certificates;
DROP TABLE principals;
