-- Sealed-bid submission: uploads in progress and accepted envelopes (ciphertext only).

CREATE TABLE bid_uploads (
    id              uuid        PRIMARY KEY,
    tender_id       uuid        NOT NULL REFERENCES tenders (id),
    section_id      uuid        NOT NULL REFERENCES tender_sections (id),
    bidder_id       uuid        NOT NULL REFERENCES principals (id),
    kind            text        NOT NULL CHECK (kind IN ('summary', 'technical', 'commercial')),
    object_key      text        NOT NULL UNIQUE,
    storage_upload  text        NOT NULL,
    declared_size   bigint      NOT NULL CHECK (declared_size > 0),
    declared_sha256 text        NOT NULL,
    part_size       bigint      NOT NULL,
    state           text        NOT NULL CHECK (state IN ('open', 'completed', 'aborted')),
    end_reason      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL
);

CREATE TABLE bid_envelopes (
    id             uuid        PRIMARY KEY,
    tender_id      uuid        NOT NULL REFERENCES tenders (id),
    section_id     uuid        NOT NULL REFERENCES tender_sections (id),
    bidder_id      uuid        NOT NULL REFERENCES principals (id),
    kind           text        NOT NULL,
    version        int         NOT NULL CHECK (version >= 1),
    upload_id      uuid        NOT NULL UNIQUE REFERENCES bid_uploads (id),
    object_key     text        NOT NULL,
    object_version text        NOT NULL,
    size           bigint      NOT NULL,
    sha256         text        NOT NULL,
    submitted_at   timestamptz NOT NULL,
    superseded_at  timestamptz,
    withdrawn_at   timestamptz,
    ledger_seq     bigint      NOT NULL,
    UNIQUE (section_id, bidder_id, kind, version)
);
-- At most one current envelope of each kind per bidder and section.
CREATE UNIQUE INDEX bid_envelopes_current ON bid_envelopes (section_id, bidder_id, kind)
    WHERE superseded_at IS NULL AND withdrawn_at IS NULL;

---- create above / drop below ----

DROP TABLE bid_envelopes;
DROP TABLE bid_uploads;
