-- The catalog of recordings (录像目录): one row per recording of a media room, written
-- "uploading" before its first object reaches the archive and "stored" in the transaction
-- that appends its ledger entry. A row left "uploading" is a recording whose objects may be
-- locked in the archive without a ledger entry (the recorder crashed in between): the
-- recorder's Recover finds and completes it.

CREATE TABLE recordings (
    id               uuid        PRIMARY KEY,
    room             text        NOT NULL,
    prefix           text        NOT NULL, -- recordings/<room>/<id>/ in the archive bucket
    manifest_key     text        NOT NULL,
    manifest_sha256  text        NOT NULL,
    manifest_size    bigint      NOT NULL,
    started_at       timestamptz NOT NULL,
    ended_at         timestamptz NOT NULL,
    begun_at         timestamptz NOT NULL,
    state            text        NOT NULL DEFAULT 'uploading' CHECK (state IN ('uploading', 'stored')),
    manifest_version text,        -- the manifest object's version ID
    files            jsonb,       -- [{key, version_id, sha256, size}] once stored
    stored_at        timestamptz,
    ledger_seq       bigint,
    CHECK ((state = 'stored') = (files IS NOT NULL AND stored_at IS NOT NULL AND ledger_seq IS NOT NULL))
);
CREATE INDEX recordings_room ON recordings (room, started_at);
CREATE INDEX recordings_uploading ON recordings (begun_at) WHERE state = 'uploading';

-- A stored recording's row is as final as its locked objects: never changed, never deleted.
CREATE FUNCTION recording_stored_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state = 'stored' THEN
        RAISE EXCEPTION 'recording % is stored: % refused', OLD.id, TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
CREATE TRIGGER recordings_frozen BEFORE UPDATE OR DELETE ON recordings
    FOR EACH ROW EXECUTE FUNCTION recording_stored_frozen();

---- create above / drop below ----

DROP TABLE recordings;
DROP FUNCTION recording_stored_frozen();
