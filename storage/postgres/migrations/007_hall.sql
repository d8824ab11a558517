-- The online opening hall (不见面开标大厅): one hall per sealed section, its envelopes as the
-- hall tracks them, check-ins, the opening record, confirmations, objections, rescue shares,
-- and the events every change writes. See opening/hall*.go.

CREATE TABLE halls (
    section_id      uuid        PRIMARY KEY REFERENCES bid_sets (section_id),
    tender_id       uuid        NOT NULL REFERENCES tenders (id),
    state           text        NOT NULL CHECK (state IN ('sealed', 'checking_in', 'decrypting',
                                    'published', 'confirming', 'closed', 'failed')),
    version         bigint      NOT NULL CHECK (version >= 1),
    reason          text        NOT NULL DEFAULT '',
    bidders         int         NOT NULL,
    window_opens_at  timestamptz,
    window_closes_at timestamptz CHECK (window_closes_at >= window_opens_at),
    confirm_ends_at  timestamptz,
    record_digest   text        NOT NULL DEFAULT '',
    updated_at      timestamptz NOT NULL
);
CREATE INDEX halls_due ON halls (state, window_closes_at, confirm_ends_at)
    WHERE state IN ('decrypting', 'confirming');

-- Every change of a hall, in the transaction that made it, numbered by the hall's version.
-- bidder_id is NULL for what everyone in the hall may see, else the one bidder it concerns.
-- A LISTEN/NOTIFY trigger on inserts fans them out.
CREATE TABLE hall_events (
    section_id uuid        NOT NULL REFERENCES halls (section_id),
    version    bigint      NOT NULL,
    type       text        NOT NULL,
    bidder_id  uuid        REFERENCES principals (id),
    payload    jsonb       NOT NULL,
    at         timestamptz NOT NULL,
    ledger_seq bigint      NOT NULL,
    PRIMARY KEY (section_id, version)
);

-- The envelopes of the sealed bid set as the hall tracks them (bid_envelopes is frozen).
-- file_key is handed in after the deadline and kept for evaluation to read the bids.
CREATE TABLE hall_envelopes (
    envelope_id      uuid        PRIMARY KEY REFERENCES bid_envelopes (id),
    section_id       uuid        NOT NULL REFERENCES halls (section_id),
    bidder_id        uuid        NOT NULL REFERENCES principals (id),
    kind             text        NOT NULL,
    state            text        NOT NULL DEFAULT 'sealed'
                                 CHECK (state IN ('sealed', 'queued', 'decrypted', 'corrupt', 'error')),
    attempts         int         NOT NULL DEFAULT 0,
    busy_refusals    int         NOT NULL DEFAULT 0,
    header           bytea,
    file_key         bytea CHECK (file_key IS NULL OR length(file_key) = 32),
    via              text        NOT NULL DEFAULT '' CHECK (via IN ('', 'bidder', 'rescue')),
    error_code       text        NOT NULL DEFAULT '',
    plaintext_size   bigint,
    plaintext_digest text        NOT NULL DEFAULT '',
    chunks           bigint,
    summary          jsonb,
    queued_at        timestamptz,
    decrypted_at     timestamptz,
    outcome          text        NOT NULL DEFAULT '' CHECK (outcome IN ('', 'revoked', 'withdrawn')),
    outcome_reason   text        NOT NULL DEFAULT '',
    CHECK (state = 'sealed' OR file_key IS NOT NULL)
);
CREATE INDEX hall_envelopes_section ON hall_envelopes (section_id, bidder_id);
CREATE INDEX hall_envelopes_queued ON hall_envelopes (queued_at) WHERE state = 'queued';

CREATE TABLE hall_checkins (
    section_id uuid        NOT NULL REFERENCES halls (section_id),
    bidder_id  uuid        NOT NULL REFERENCES principals (id),
    at         timestamptz NOT NULL,
    address    text        NOT NULL DEFAULT '',
    PRIMARY KEY (section_id, bidder_id)
);

-- The opening record (开标记录): its canonical bytes, served unchanged, and their digest.
CREATE TABLE hall_records (
    section_id   uuid        PRIMARY KEY REFERENCES halls (section_id),
    digest       text        NOT NULL,
    body         bytea       NOT NULL,
    published_at timestamptz NOT NULL,
    ledger_seq   bigint      NOT NULL
);

CREATE TABLE hall_confirmations (
    section_id  uuid        NOT NULL REFERENCES halls (section_id),
    bidder_id   uuid        NOT NULL REFERENCES principals (id),
    digest      text        NOT NULL,
    certificate text        NOT NULL REFERENCES principal_certificates (fingerprint),
    signature   bytea       NOT NULL,
    at          timestamptz NOT NULL,
    PRIMARY KEY (section_id, bidder_id)
);

CREATE TABLE hall_objections (
    id          uuid        PRIMARY KEY,
    section_id  uuid        NOT NULL REFERENCES halls (section_id),
    bidder_id   uuid        NOT NULL REFERENCES principals (id),
    text        text        NOT NULL CHECK (text <> ''),
    raised_at   timestamptz NOT NULL,
    answer      text        NOT NULL DEFAULT '',
    answered_by uuid        REFERENCES principals (id),
    answered_at timestamptz
);
CREATE INDEX hall_objections_section ON hall_objections (section_id, raised_at);

-- Rescue key shares handed in for a bid. value is erased once the shares were combined, or
-- the window closed; the submission itself stays, as in the ledger.
CREATE TABLE hall_rescue_shares (
    section_id   uuid        NOT NULL REFERENCES halls (section_id),
    bidder_id    uuid        NOT NULL REFERENCES principals (id),
    holder_id    uuid        NOT NULL REFERENCES principals (id),
    share_index  int         NOT NULL,
    key_id       text        NOT NULL,
    value        bytea,
    submitted_at timestamptz NOT NULL,
    wiped_at     timestamptz,
    PRIMARY KEY (section_id, bidder_id, holder_id)
);

-- What was published, confirmed and raised is never rewritten.
CREATE FUNCTION hall_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % refused: opening records are kept as written', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER hall_records_immutable BEFORE UPDATE OR DELETE ON hall_records
    FOR EACH ROW EXECUTE FUNCTION hall_immutable();
CREATE TRIGGER hall_confirmations_immutable BEFORE UPDATE OR DELETE ON hall_confirmations
    FOR EACH ROW EXECUTE FUNCTION hall_immutable();
CREATE TRIGGER hall_events_immutable BEFORE UPDATE OR DELETE ON hall_events
    FOR EACH ROW EXECUTE FUNCTION hall_immutable();

---- create above / drop below ----

DROP TABLE hall_rescue_shares;
DROP TABLE hall_objections;
DROP TABLE hall_confirmations;
DROP TABLE hall_records;
DROP TABLE hall_checkins;
DROP TABLE hall_envelopes;
DROP TABLE hall_events;
DROP TABLE halls;
DROP FUNCTION hall_immutable();
