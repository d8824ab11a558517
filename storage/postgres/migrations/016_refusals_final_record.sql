-- Issue 12, finding 6: refused attempts at a legally significant action are ledgered
-- (httpapi/refusal.go). A principal who repeats one refusal fills one ledger entry per
-- minute, not one per request: the first refusal of each (principal, action, code) in a
-- minute is ledgered, the others only counted here; the next entry of that key names the
-- count of the window before it, so the counts reach the ledger too. Only authenticated
-- principals get here, each by a registered certificate: what one can write is bounded by
-- the actions and codes the code has, per minute.
CREATE TABLE refused_attempts (
    principal_id uuid        NOT NULL,
    action       text        NOT NULL,
    code         text        NOT NULL,
    window_start timestamptz NOT NULL,
    attempts     int         NOT NULL CHECK (attempts >= 1),
    last_at      timestamptz NOT NULL,
    ledger_seq   bigint,
    PRIMARY KEY (principal_id, action, code, window_start)
);


-- Issue 12, finding 7: the final record (opening/record_final.go), stored by the closing
-- transition of each round and archived beside the published record under the lock.
-- A tender may say silence consents (视为认可).
ALTER TABLE tenders ADD COLUMN silence_consents boolean NOT NULL DEFAULT false;

CREATE TABLE hall_final_records (
    section_id uuid        NOT NULL,
    round      int         NOT NULL,
    digest     text        NOT NULL,
    body       bytea       NOT NULL,
    closed_at  timestamptz NOT NULL,
    ledger_seq bigint      NOT NULL,
    PRIMARY KEY (section_id, round),
    FOREIGN KEY (section_id, round) REFERENCES hall_records (section_id, round)
);
CREATE TRIGGER hall_final_records_immutable BEFORE UPDATE OR DELETE ON hall_final_records
    FOR EACH ROW EXECUTE FUNCTION hall_immutable();

-- Exports and their queue name the stage they archive: the record as published, or final.
ALTER TABLE hall_record_exports ADD COLUMN stage text NOT NULL DEFAULT 'published'
    CHECK (stage IN ('published', 'final'));
ALTER TABLE hall_record_exports DROP CONSTRAINT hall_record_exports_pkey;
ALTER TABLE hall_record_exports ADD PRIMARY KEY (section_id, round, stage, format);
ALTER TABLE hall_record_export_queue ADD COLUMN stage text NOT NULL DEFAULT 'published'
    CHECK (stage IN ('published', 'final'));
ALTER TABLE hall_record_export_queue DROP CONSTRAINT hall_record_export_queue_pkey;
ALTER TABLE hall_record_export_queue ADD PRIMARY KEY (section_id, round, stage);

CREATE FUNCTION hall_final_record_export_queue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hall_record_export_queue (section_id, round, stage, queued_at)
        VALUES (NEW.section_id, NEW.round, 'final', NEW.closed_at);
    RETURN NULL;
END
$$;
CREATE TRIGGER hall_final_records_export AFTER INSERT ON hall_final_records
    FOR EACH ROW EXECUTE FUNCTION hall_final_record_export_queue();

---- create above / drop below ----

DROP TRIGGER hall_final_records_export ON hall_final_records;
DROP FUNCTION hall_final_record_export_queue();
DELETE FROM hall_record_export_queue WHERE stage = 'final';
ALTER TABLE hall_record_export_queue DROP CONSTRAINT hall_record_export_queue_pkey;
ALTER TABLE hall_record_export_queue ADD PRIMARY KEY (section_id, round);
ALTER TABLE hall_record_export_queue DROP COLUMN stage;
ALTER TABLE hall_record_exports DISABLE TRIGGER hall_record_exports_immutable;
DELETE FROM hall_record_exports WHERE stage = 'final';
ALTER TABLE hall_record_exports ENABLE TRIGGER hall_record_exports_immutable;
ALTER TABLE hall_record_exports DROP CONSTRAINT hall_record_exports_pkey;
ALTER TABLE hall_record_exports ADD PRIMARY KEY (section_id, round, format);
ALTER TABLE hall_record_exports DROP COLUMN stage;
DROP TABLE hall_final_records;
ALTER TABLE tenders DROP COLUMN silence_consents;


DROP TABLE refused_attempts;
