-- Completions in flight (issue 12, findings 2 and 8). A completion request is recorded as
-- "completing" before object storage is asked to assemble the parts, with the instant it
-- arrived (what the deadline is judged against) and the parts it named, so that:
--   - the bid set is sealed as soon as the deadline has passed and no upload of the section
--     is completing (the seal waits on them, not on a fixed grace);
--   - a server that dies between storage's completion and the database's commit leaves a row
--     that says so: a retry, or the reconciler, finishes the completion from it.
ALTER TABLE bid_uploads DROP CONSTRAINT bid_uploads_state_check;
ALTER TABLE bid_uploads ADD CONSTRAINT bid_uploads_state_check
    CHECK (state IN ('open', 'completing', 'completed', 'aborted'));
ALTER TABLE bid_uploads
    ADD COLUMN completing_at      timestamptz,                -- when the completion request arrived
    ADD COLUMN completing_address text  NOT NULL DEFAULT '',  -- from where (the ledger's address)
    ADD COLUMN completing_parts   jsonb,                      -- the parts it named: [{"number","etag"}]
    ADD COLUMN object_version     text  NOT NULL DEFAULT '',  -- the version storage made, once known
    ADD COLUMN recovery_claimed_at timestamptz;               -- when a reconciler took over an abandoned one
ALTER TABLE bid_uploads ADD CONSTRAINT bid_uploads_completing
    CHECK (state <> 'completing' OR (completing_at IS NOT NULL AND completing_parts IS NOT NULL));
CREATE INDEX bid_uploads_completing ON bid_uploads (section_id) WHERE state = 'completing';

-- Objects in the bids bucket that no accepted envelope accounts for, as the reconciler found
-- them (each also ledgered once, as bid.orphan). Nothing here is deleted: a locked object
-- cannot be, and an unlocked one is evidence until someone decides otherwise.
CREATE TABLE bid_orphans (
    object_key     text        NOT NULL,
    object_version text        NOT NULL,
    upload_id      uuid        REFERENCES bid_uploads (id), -- the upload whose key it is, if any
    upload_state   text        NOT NULL DEFAULT '',         -- that upload's state when found
    size           bigint      NOT NULL,
    locked_until   timestamptz,                             -- its COMPLIANCE retention, if any
    found_at       timestamptz NOT NULL,
    ledger_seq     bigint      NOT NULL,
    PRIMARY KEY (object_key, object_version)
);

---- create above / drop below ----

DROP TABLE bid_orphans;
DROP INDEX bid_uploads_completing;
ALTER TABLE bid_uploads DROP CONSTRAINT bid_uploads_completing;
ALTER TABLE bid_uploads DROP COLUMN recovery_claimed_at, DROP COLUMN object_version, DROP COLUMN completing_parts,
    DROP COLUMN completing_address, DROP COLUMN completing_at;
UPDATE bid_uploads SET state = 'aborted', end_reason = 'downgrade' WHERE state = 'completing';
ALTER TABLE bid_uploads DROP CONSTRAINT bid_uploads_state_check;
ALTER TABLE bid_uploads ADD CONSTRAINT bid_uploads_state_check CHECK (state IN ('open', 'completed', 'aborted'));
