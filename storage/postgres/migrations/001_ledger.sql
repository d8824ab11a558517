-- The audit ledger (审计日志): an append-only Merkle log, RFC 6962 hashing. See storage/ledger.
--
-- The signatures are what make the log tamper-evident: storage/ledger.Verify recomputes
-- everything from ledger_entries alone. The constraints and triggers below only stop honest
-- mistakes (an UPDATE in application code, a careless TRUNCATE); anyone who can disable
-- them can also edit rows, and Verify then names the first edited entry.

CREATE TABLE ledger_entries (
    seq        bigint      PRIMARY KEY CHECK (seq >= 0),
    at         timestamptz NOT NULL,
    operator   text        NOT NULL,
    address    text        NOT NULL,
    action     text        NOT NULL CHECK (action <> ''),
    subject    text        NOT NULL,
    -- JSON as bytes (bytea, not jsonb): jsonb would normalise it and break the leaf hash.
    detail     bytea       NOT NULL,
    -- The tree head after this entry and the platform's signature over that checkpoint.
    root_hash  bytea       NOT NULL CHECK (octet_length(root_hash) = 32),
    signature  bytea       NOT NULL
);

-- tlog's stored hashes (leaf and interior, indexed by tlog.StoredHashIndex), derived from
-- the entries; a cache for proofs and for Append, checked by Verify.
CREATE TABLE ledger_hashes (
    idx  bigint PRIMARY KEY CHECK (idx >= 0),
    hash bytea  NOT NULL CHECK (octet_length(hash) = 32)
);

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_hashes_append_only BEFORE UPDATE OR DELETE ON ledger_hashes
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_hashes_no_truncate BEFORE TRUNCATE ON ledger_hashes
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

---- create above / drop below ----

DROP TABLE ledger_hashes;
DROP TABLE ledger_entries;
DROP FUNCTION ledger_append_only();
