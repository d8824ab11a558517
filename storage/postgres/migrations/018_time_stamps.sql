-- RFC 3161 time-stamps (可信时间戳) from the configured time-stamping authority, on every
-- receipt (the RFC 6962 leaf hash of its ledger entry: bid.submit, bid.withdraw) and every
-- archived opening record (its object's SHA-256). What is due is derived from the ledger
-- and hall_record_exports (opening.TimeStamps.StampDue), so a crash between a receipt and
-- its stamp loses nothing: a row here is a token, or the bookkeeping of failed attempts.

CREATE TABLE time_stamps (
    subject         text        PRIMARY KEY,  -- receipt:<ledger seq> | record:<archive object key>
    digest          bytea       NOT NULL CHECK (octet_length(digest) = 32),
    token           bytea,                    -- DER TimeStampToken; NULL while pending
    stamped_at      timestamptz,              -- the TSA's time (genTime)
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text        NOT NULL DEFAULT '',
    next_attempt_at timestamptz,
    CHECK ((token IS NULL) = (stamped_at IS NULL))
);

-- A token, once stored, is evidence: it is never replaced or removed.
CREATE FUNCTION time_stamps_keep_token() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.token IS NOT NULL THEN
        RAISE EXCEPTION 'a time-stamp token is kept: DELETE of % refused', OLD.subject USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.token IS NOT NULL THEN
        RAISE EXCEPTION 'a time-stamp token is kept: UPDATE of % refused', OLD.subject USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;
CREATE TRIGGER time_stamps_keep_token BEFORE UPDATE OR DELETE ON time_stamps
    FOR EACH ROW EXECUTE FUNCTION time_stamps_keep_token();

-- The receipts among the ledger entries, for finding those not stamped yet.
CREATE INDEX ledger_entries_receipts ON ledger_entries (seq) WHERE action IN ('bid.submit', 'bid.withdraw');
