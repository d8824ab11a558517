-- The no-show opening: tenders, sections, registrations and the blacklist.

CREATE TABLE tenders (
    id                 uuid        PRIMARY KEY,
    code               text        NOT NULL UNIQUE,
    title              text        NOT NULL,
    tenderer           text        NOT NULL,
    deadline           timestamptz NOT NULL,
    envelope_plan      text        NOT NULL CHECK (envelope_plan IN ('single', 'two_envelope')),
    suite              text        NOT NULL CHECK (suite IN ('aes256gcm', 'sm4gcm')),
    summary_fields     jsonb       NOT NULL,
    max_envelope_bytes bigint      NOT NULL CHECK (max_envelope_bytes > 0),
    min_bids           int         NOT NULL CHECK (min_bids >= 3),
    rescue             jsonb       NOT NULL,
    created_by         uuid        REFERENCES principals (id),
    created_at         timestamptz NOT NULL
);

CREATE TABLE tender_sections (
    id        uuid PRIMARY KEY,
    tender_id uuid NOT NULL REFERENCES tenders (id),
    code      text NOT NULL,
    name      text NOT NULL,
    position  int  NOT NULL,
    UNIQUE (tender_id, code)
);

CREATE TABLE registrations (
    tender_id     uuid        NOT NULL REFERENCES tenders (id),
    section_id    uuid        NOT NULL REFERENCES tender_sections (id),
    bidder_id     uuid        NOT NULL REFERENCES principals (id),
    certificate   text        NOT NULL REFERENCES principal_certificates (fingerprint),
    registered_at timestamptz NOT NULL,
    PRIMARY KEY (section_id, bidder_id)
);

CREATE TABLE blacklist (
    id         uuid        PRIMARY KEY,
    bidder_id  uuid        NOT NULL REFERENCES principals (id),
    reason     text        NOT NULL,
    source     text        NOT NULL DEFAULT '',
    valid_from timestamptz NOT NULL,
    valid_until timestamptz NOT NULL CHECK (valid_until > valid_from),
    created_by uuid        REFERENCES principals (id),
    created_at timestamptz NOT NULL
);
CREATE INDEX blacklist_bidder ON blacklist (bidder_id);

---- create above / drop below ----

DROP TABLE blacklist;
DROP TABLE registrations;
DROP TABLE tender_sections;
DROP TABLE tenders;
