-- The second round of two-envelope tenders (双信封) and the archived exports of opening
-- records. See opening/hall_round*.go and opening/record_export*.go.

-- A hall has a round: 1, or 2 once the technical stage's results are recorded (qualified).
ALTER TABLE halls ADD COLUMN round int NOT NULL DEFAULT 1 CHECK (round IN (1, 2));
ALTER TABLE halls DROP CONSTRAINT halls_state_check;
ALTER TABLE halls ADD CONSTRAINT halls_state_check CHECK (state IN ('sealed', 'checking_in', 'decrypting',
    'published', 'confirming', 'closed', 'qualified', 'failed'));

-- A bidder who did not pass keeps its commercial envelope sealed for good: retained. Such an
-- envelope never holds a file key and is never changed again (its header may be cached).
ALTER TABLE hall_envelopes DROP CONSTRAINT hall_envelopes_state_check;
ALTER TABLE hall_envelopes ADD CONSTRAINT hall_envelopes_state_check
    CHECK (state IN ('sealed', 'queued', 'decrypted', 'corrupt', 'error', 'retained'));
ALTER TABLE hall_envelopes DROP CONSTRAINT hall_envelopes_check;
ALTER TABLE hall_envelopes ADD CONSTRAINT hall_envelopes_check
    CHECK (state IN ('sealed', 'retained') OR file_key IS NOT NULL);
ALTER TABLE hall_envelopes ADD CONSTRAINT hall_envelopes_retained_keyless
    CHECK (state <> 'retained' OR file_key IS NULL);
CREATE FUNCTION hall_envelope_retained() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.state <> 'retained' OR NEW.file_key IS NOT NULL OR NEW.queued_at IS NOT NULL
        OR NEW.attempts <> OLD.attempts OR NEW.via <> OLD.via THEN
        RAISE EXCEPTION 'envelope % did not pass the technical stage: it stays sealed', OLD.envelope_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER hall_envelopes_retained BEFORE UPDATE OR DELETE ON hall_envelopes
    FOR EACH ROW WHEN (OLD.state = 'retained') EXECUTE FUNCTION hall_envelope_retained();

-- Check-ins, records, confirmations, objections and rescue shares belong to a round.
ALTER TABLE hall_checkins ADD COLUMN round int NOT NULL DEFAULT 1;
ALTER TABLE hall_checkins DROP CONSTRAINT hall_checkins_pkey;
ALTER TABLE hall_checkins ADD PRIMARY KEY (section_id, round, bidder_id);

ALTER TABLE hall_records ADD COLUMN round int NOT NULL DEFAULT 1;
ALTER TABLE hall_records DROP CONSTRAINT hall_records_pkey;
ALTER TABLE hall_records ADD PRIMARY KEY (section_id, round);

ALTER TABLE hall_confirmations ADD COLUMN round int NOT NULL DEFAULT 1;
ALTER TABLE hall_confirmations DROP CONSTRAINT hall_confirmations_pkey;
ALTER TABLE hall_confirmations ADD PRIMARY KEY (section_id, round, bidder_id);

ALTER TABLE hall_objections ADD COLUMN round int NOT NULL DEFAULT 1;

ALTER TABLE hall_rescue_shares ADD COLUMN round int NOT NULL DEFAULT 1;
ALTER TABLE hall_rescue_shares DROP CONSTRAINT hall_rescue_shares_pkey;
ALTER TABLE hall_rescue_shares ADD PRIMARY KEY (section_id, round, bidder_id, holder_id);

-- The results of the technical stage, one row per bidder of the set, written once.
CREATE TABLE hall_qualifications (
    section_id   uuid        NOT NULL REFERENCES halls (section_id),
    bidder_id    uuid        NOT NULL REFERENCES principals (id),
    passed       boolean     NOT NULL,
    reason       text        NOT NULL DEFAULT '',
    recorded_at  timestamptz NOT NULL,
    recorded_by  uuid        REFERENCES principals (id),
    first_record text        NOT NULL,
    PRIMARY KEY (section_id, bidder_id),
    CHECK (passed OR reason <> '')
);
CREATE TRIGGER hall_qualifications_immutable BEFORE UPDATE OR DELETE ON hall_qualifications
    FOR EACH ROW EXECUTE FUNCTION hall_immutable();

-- Every published record is exported as PDF and JSON into the archive bucket under a
-- compliance lock; an export row holds what was stored and its digest, ledgered in the
-- same transaction. A record waits in the queue from its publication (the trigger, in the
-- publishing transaction) until its exports are ledgered: a record left there is one
-- whose export failed or was interrupted, never silently lost.
CREATE TABLE hall_record_exports (
    section_id     uuid        NOT NULL,
    round          int         NOT NULL,
    format         text        NOT NULL CHECK (format IN ('pdf', 'json')),
    object_key     text        NOT NULL,
    object_version text        NOT NULL,
    sha256         text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size           bigint      NOT NULL,
    retain_until   timestamptz NOT NULL,
    exported_at    timestamptz NOT NULL,
    ledger_seq     bigint      NOT NULL,
    PRIMARY KEY (section_id, round, format),
    FOREIGN KEY (section_id, round) REFERENCES hall_records (section_id, round)
);
CREATE TRIGGER hall_record_exports_immutable BEFORE UPDATE OR DELETE ON hall_record_exports
    FOR EACH ROW EXECUTE FUNCTION hall_immutable();

CREATE TABLE hall_record_export_queue (
    section_id uuid        NOT NULL,
    round      int         NOT NULL,
    queued_at  timestamptz NOT NULL,
    PRIMARY KEY (section_id, round),
    FOREIGN KEY (section_id, round) REFERENCES hall_records (section_id, round)
);
CREATE FUNCTION hall_record_export_queue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hall_record_export_queue (section_id, round, queued_at)
        VALUES (NEW.section_id, NEW.round, NEW.published_at);
    RETURN NULL;
END
$$;
CREATE TRIGGER hall_records_export AFTER INSERT ON hall_records
    FOR EACH ROW EXECUTE FUNCTION hall_record_export_queue();
INSERT INTO hall_record_export_queue (section_id, round, queued_at)
    SELECT section_id, round, published_at FROM hall_records;

---- create above / drop below ----

DROP TRIGGER hall_records_export ON hall_records;
DROP FUNCTION hall_record_export_queue();
DROP TABLE hall_record_export_queue;
DROP TABLE hall_record_exports;
DROP TABLE hall_qualifications;
ALTER TABLE hall_rescue_shares DROP CONSTRAINT hall_rescue_shares_pkey;
ALTER TABLE hall_rescue_shares ADD PRIMARY KEY (section_id, bidder_id, holder_id);
ALTER TABLE hall_rescue_shares DROP COLUMN round;
ALTER TABLE hall_objections DROP COLUMN round;
ALTER TABLE hall_confirmations DROP CONSTRAINT hall_confirmations_pkey;
ALTER TABLE hall_confirmations ADD PRIMARY KEY (section_id, bidder_id);
ALTER TABLE hall_confirmations DROP COLUMN round;
ALTER TABLE hall_records DROP CONSTRAINT hall_records_pkey;
ALTER TABLE hall_records ADD PRIMARY KEY (section_id);
ALTER TABLE hall_records DROP COLUMN round;
ALTER TABLE hall_checkins DROP CONSTRAINT hall_checkins_pkey;
ALTER TABLE hall_checkins ADD PRIMARY KEY (section_id, bidder_id);
ALTER TABLE hall_checkins DROP COLUMN round;
DROP TRIGGER hall_envelopes_retained ON hall_envelopes;
DROP FUNCTION hall_envelope_retained();
ALTER TABLE hall_envelopes DROP CONSTRAINT hall_envelopes_retained_keyless;
ALTER TABLE hall_envelopes DROP CONSTRAINT hall_envelopes_check;
ALTER TABLE hall_envelopes ADD CONSTRAINT hall_envelopes_check CHECK (state = 'sealed' OR file_key IS NOT NULL);
ALTER TABLE hall_envelopes DROP CONSTRAINT hall_envelopes_state_check;
ALTER TABLE hall_envelopes ADD CONSTRAINT hall_envelopes_state_check
    CHECK (state IN ('sealed', 'queued', 'decrypted', 'corrupt', 'error'));
ALTER TABLE halls DROP CONSTRAINT halls_state_check;
ALTER TABLE halls ADD CONSTRAINT halls_state_check CHECK (state IN ('sealed', 'checking_in', 'decrypting',
    'published', 'confirming', 'closed', 'failed'));
ALTER TABLE halls DROP COLUMN round;
