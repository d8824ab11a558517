-- The audit ledger (审计日志): an append-only Merkle log, RFC 6962 hashing. See storage/ledger.

CREATE TABLE ledger_entries (
    seq        bigint      PRIMARY KEY CHECK (seq >= 0),
    at         timestamptz NOT NULL,
    operator   text        NOT NULL,
    address    text        NOT NULL,
    action     text        NOT NULL,
    subject    text        NOT NULL,
    detail     bytea       NOT NULL,
    -- The tree head after this entry and the platform's signature over that checkpoint.
    root_hash  bytea       NOT NULL,
    signature  bytea       NOT NULL
);

-- tlog's stored hashes (leaf and interior), derived from the entries; a cache for proofs.
CREATE TABLE ledger_hashes (
    idx  bigint PRIMARY KEY,
    hash bytea  NOT NULL
);

---- create above / drop below ----

DROP TABLE ledger_hashes;
DROP TABLE ledger_entries;
