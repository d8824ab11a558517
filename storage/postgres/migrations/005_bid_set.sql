-- National-mode digests, the tender's rescue key setup, and the sealed bid set of each section.

ALTER TABLE bid_uploads ADD COLUMN declared_sm3 text NOT NULL DEFAULT '';
ALTER TABLE bid_envelopes ADD COLUMN sm3 text NOT NULL DEFAULT '';

-- rescue.Setup: the rescue key's public half, its Feldman commitments and each holder's
-- encrypted share. Safe to store; the private key is never stored anywhere.
ALTER TABLE tenders ADD COLUMN rescue_setup jsonb;

-- The bid set of a section, committed into the ledger once its deadline has passed.
CREATE TABLE bid_sets (
    section_id uuid        PRIMARY KEY REFERENCES tender_sections (id),
    tender_id  uuid        NOT NULL REFERENCES tenders (id),
    sealed_at  timestamptz NOT NULL,
    envelopes  int         NOT NULL,
    bidders    int         NOT NULL,
    digests    text[]      NOT NULL, -- each current envelope's SHA-256, sorted
    digest     text        NOT NULL, -- SHA-256 over the sorted digests (opening.BidSetDigest)
    ledger_seq bigint      NOT NULL
);

-- Once a section's bid set is sealed, nothing about its envelopes changes and the set itself
-- is never rewritten: not by the application, not by a mistaken hand in psql.
CREATE FUNCTION bid_set_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'bid_sets' OR EXISTS (SELECT 1 FROM bid_sets
            WHERE section_id = CASE WHEN TG_OP = 'DELETE' THEN OLD.section_id ELSE NEW.section_id END) THEN
        RAISE EXCEPTION 'the bid set is sealed: % on % refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE TRIGGER bid_envelopes_frozen BEFORE INSERT OR UPDATE OR DELETE ON bid_envelopes
    FOR EACH ROW EXECUTE FUNCTION bid_set_frozen();
CREATE TRIGGER bid_sets_immutable BEFORE UPDATE OR DELETE ON bid_sets
    FOR EACH ROW EXECUTE FUNCTION bid_set_frozen();

---- create above / drop below ----

DROP TABLE bid_sets;
DROP FUNCTION bid_set_frozen() CASCADE;
ALTER TABLE tenders DROP COLUMN rescue_setup;
ALTER TABLE bid_envelopes DROP COLUMN sm3;
ALTER TABLE bid_uploads DROP COLUMN declared_sm3;
