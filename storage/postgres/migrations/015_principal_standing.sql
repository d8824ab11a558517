-- Revocation (issue 11, finding 7): a principal can be disabled and a certificate revoked
-- without waiting for the sessions they hold to expire. Session tokens are stateless; every
-- request checks these columns (through a cache of a few seconds, auth.status_cache_ttl).
-- Nothing is deleted: who held which certificate when stays answerable for 15 years.

ALTER TABLE principals ADD COLUMN disabled_at timestamptz;
ALTER TABLE principal_certificates ADD COLUMN revoked_at timestamptz;

-- Failed logins (issue 11, finding 8): what login throttling counts, and what an auditor reads
-- to see who tried. A table, not the ledger: anyone on the internet can fail a login, and the
-- ledger (signed, kept 15 years, every entry in every proof) must not be theirs to grow; rows
-- here can be pruned once older than the throttling window and the retention the centre wants.
-- signed: the signature over the nonce verified, so the certificate's key holder made this
-- attempt; only those count against the certificate (anyone can send someone's certificate).
CREATE TABLE failed_logins (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL,
    address     text        NOT NULL,
    fingerprint text        NOT NULL DEFAULT '',  -- hex SHA-256 of the leaf presented, '' if unreadable
    principal_id uuid,                            -- when the certificate is registered
    signed      boolean     NOT NULL,
    code        text        NOT NULL
);
CREATE INDEX failed_logins_address ON failed_logins (address, at);
CREATE INDEX failed_logins_fingerprint ON failed_logins (fingerprint, at) WHERE signed;

---- create above / drop below ----

DROP TABLE failed_logins;
ALTER TABLE principal_certificates DROP COLUMN revoked_at;
ALTER TABLE principals DROP COLUMN disabled_at;
