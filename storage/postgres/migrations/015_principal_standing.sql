-- Revocation (issue 11, finding 7): a principal can be disabled and a certificate revoked
-- without waiting for the sessions they hold to expire. Session tokens are stateless; every
-- request checks these columns (through a cache of a few seconds, auth.status_cache_ttl).
-- Nothing is deleted: who held which certificate when stays answerable for 15 years.

ALTER TABLE principals ADD COLUMN disabled_at timestamptz;
ALTER TABLE principal_certificates ADD COLUMN revoked_at timestamptz;

---- create above / drop below ----

ALTER TABLE principal_certificates DROP COLUMN revoked_at;
ALTER TABLE principals DROP COLUMN disabled_at;
