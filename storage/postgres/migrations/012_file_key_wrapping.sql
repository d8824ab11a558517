-- File keys kept after the opening are wrapped by a key-encryption key (KEK) held outside
-- the database (opening.KeyWrapper; storage/kek): a dump of this table, its dead rows, WAL
-- or backups, with read access to the bids bucket, then opens no bid.
--
-- file_key_wrapped holds the wrapped key (storage/kek's format: version, KEK ID, nonce,
-- AES-GCM or SM4-GCM sealed key). A plaintext key is 32 bytes; a wrapped one is longer, so
-- a plaintext key written by mistake is refused.
--
-- The KEK is not in the database, so this migration cannot wrap the keys an older
-- installation stored in the clear: it moves them to file_key_legacy, which nothing may
-- write again (CHECK ... NOT VALID binds every new or updated row, not the old ones), and
-- the server wraps them at its next start-up (opening.FileKeys.WrapLegacy) before it
-- serves. Their old plaintext copies stay in dead rows and WAL until VACUUM and the WAL
-- and backups of that time are gone: see the README's security section.
--
-- key_destroyed_at records crypto-shredding: the wrapped key set to NULL when the envelope
-- did not open (at the end of the decrypt window) or the archive period ended, ledgered.
ALTER TABLE hall_envelopes RENAME COLUMN file_key TO file_key_legacy;
ALTER TABLE hall_envelopes DROP CONSTRAINT hall_envelopes_file_key_check;
ALTER TABLE hall_envelopes ADD CONSTRAINT hall_envelopes_file_key_legacy_gone
    CHECK (file_key_legacy IS NULL) NOT VALID;
ALTER TABLE hall_envelopes ADD COLUMN file_key_wrapped bytea
    CONSTRAINT hall_envelopes_file_key_wrapped CHECK (length(file_key_wrapped) > 48);
ALTER TABLE hall_envelopes ADD COLUMN key_destroyed_at timestamptz;
ALTER TABLE hall_envelopes ADD CONSTRAINT hall_envelopes_destroyed_keyless
    CHECK (key_destroyed_at IS NULL OR (file_key_wrapped IS NULL AND file_key_legacy IS NULL));

-- Past the sealed state an envelope holds its key, or held it until it was destroyed.
ALTER TABLE hall_envelopes DROP CONSTRAINT hall_envelopes_check;
ALTER TABLE hall_envelopes ADD CONSTRAINT hall_envelopes_check
    CHECK (state IN ('sealed', 'retained') OR file_key_wrapped IS NOT NULL OR file_key_legacy IS NOT NULL
        OR key_destroyed_at IS NOT NULL);
ALTER TABLE hall_envelopes DROP CONSTRAINT hall_envelopes_retained_keyless;
ALTER TABLE hall_envelopes ADD CONSTRAINT hall_envelopes_retained_keyless
    CHECK (state <> 'retained' OR (file_key_wrapped IS NULL AND file_key_legacy IS NULL));
CREATE OR REPLACE FUNCTION hall_envelope_retained() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.state <> 'retained' OR NEW.file_key_wrapped IS NOT NULL
        OR NEW.file_key_legacy IS NOT NULL OR NEW.queued_at IS NOT NULL
        OR NEW.attempts <> OLD.attempts OR NEW.via <> OLD.via THEN
        RAISE EXCEPTION 'envelope % did not pass the technical stage: it stays sealed', OLD.envelope_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

-- A destroyed key stays destroyed.
CREATE FUNCTION hall_envelope_key_destroyed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.key_destroyed_at IS DISTINCT FROM OLD.key_destroyed_at OR NEW.file_key_wrapped IS NOT NULL THEN
        RAISE EXCEPTION 'the file key of envelope % was destroyed: it cannot come back', OLD.envelope_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER hall_envelopes_key_destroyed BEFORE UPDATE ON hall_envelopes
    FOR EACH ROW WHEN (OLD.key_destroyed_at IS NOT NULL) EXECUTE FUNCTION hall_envelope_key_destroyed();

---- create above / drop below ----

-- Going back cannot unwrap: keys wrapped since stay wrapped and are lost to the old code.
DROP TRIGGER hall_envelopes_key_destroyed ON hall_envelopes;
DROP FUNCTION hall_envelope_key_destroyed();
ALTER TABLE hall_envelopes DROP CONSTRAINT hall_envelopes_retained_keyless;
ALTER TABLE hall_envelopes DROP CONSTRAINT hall_envelopes_check;
ALTER TABLE hall_envelopes DROP COLUMN key_destroyed_at;
ALTER TABLE hall_envelopes DROP COLUMN file_key_wrapped;
ALTER TABLE hall_envelopes DROP CONSTRAINT hall_envelopes_file_key_legacy_gone;
ALTER TABLE hall_envelopes RENAME COLUMN file_key_legacy TO file_key;
ALTER TABLE hall_envelopes ADD CONSTRAINT hall_envelopes_file_key_check
    CHECK (file_key IS NULL OR length(file_key) = 32) NOT VALID;
ALTER TABLE hall_envelopes ADD CONSTRAINT hall_envelopes_check
    CHECK (state IN ('sealed', 'retained') OR file_key IS NOT NULL) NOT VALID;
ALTER TABLE hall_envelopes ADD CONSTRAINT hall_envelopes_retained_keyless
    CHECK (state <> 'retained' OR file_key IS NULL);
CREATE OR REPLACE FUNCTION hall_envelope_retained() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.state <> 'retained' OR NEW.file_key IS NOT NULL OR NEW.queued_at IS NOT NULL
        OR NEW.attempts <> OLD.attempts OR NEW.via <> OLD.via THEN
        RAISE EXCEPTION 'envelope % did not pass the technical stage: it stays sealed', OLD.envelope_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
