-- Rescue (解密失败补救方案) by threshold decryption (opening/rescue/RESCUE.md): supervisors
-- no longer hand in their shares of the tender's rescue key, only partial decryptions of
-- the named bid's rescue stanzas, computed on their own machines. The server never holds a
-- share or the rescue private key.
--
-- hall_rescue_shares keeps who handed in for which bid (as the ledger does); its value
-- column, which held shares, is dropped. On an installation that ran the old code, dropping
-- the column does not erase old values from dead tuples, the WAL or backups: run VACUUM FULL
-- on hall_rescue_shares, and treat the rescue keys of tenders rescued before the upgrade as
-- exposed (their bids could be opened by whoever reads those copies).
ALTER TABLE hall_rescue_shares DROP COLUMN value;
COMMENT ON COLUMN hall_rescue_shares.wiped_at IS 'when the partial decryptions handed in for the bid were deleted';

-- D_i = s_i·E for one envelope's rescue stanza, with its Chaum–Pedersen proof. A partial is
-- not a share: it opens only the stanza it was computed for (k of them), and fewer than k
-- do not help to open even that one. Rows are deleted when their envelope is opened or the
-- window closes, and kept across restarts until then so that a rescue in progress survives.
CREATE TABLE hall_rescue_partials (
    envelope_id  uuid        NOT NULL REFERENCES hall_envelopes (envelope_id),
    holder_id    uuid        NOT NULL REFERENCES principals (id),
    section_id   uuid        NOT NULL REFERENCES halls (section_id),
    round        int         NOT NULL,
    bidder_id    uuid        NOT NULL REFERENCES principals (id),
    share_index  int         NOT NULL CHECK (share_index BETWEEN 1 AND 32),
    point        bytea       NOT NULL CHECK (length(point) = 65),
    proof        bytea       NOT NULL CHECK (length(proof) = 64),
    submitted_at timestamptz NOT NULL,
    PRIMARY KEY (envelope_id, holder_id)
);
CREATE INDEX hall_rescue_partials_bid ON hall_rescue_partials (section_id, bidder_id);

---- create above / drop below ----

DROP TABLE hall_rescue_partials;
ALTER TABLE hall_rescue_shares ADD COLUMN value bytea;
