-- Staff assigned per tender (项目人员指派): a host, supervisor or evaluation host acts only on
-- the tenders an administrator assigned them to. Assignments are never deleted: a revoked
-- one keeps who revoked it and when, and both moments are ledgered.
CREATE TABLE tender_staff (
    id           uuid        PRIMARY KEY,
    tender_id    uuid        NOT NULL REFERENCES tenders (id),
    principal_id uuid        NOT NULL REFERENCES principals (id),
    duty         text        NOT NULL CHECK (duty IN ('host', 'supervisor', 'evaluation_host')),
    assigned_by  uuid        NOT NULL REFERENCES principals (id),
    assigned_at  timestamptz NOT NULL,
    revoked_by   uuid        REFERENCES principals (id),
    revoked_at   timestamptz,
    CHECK ((revoked_by IS NULL) = (revoked_at IS NULL)),
    -- Separation of duties: nobody assigns themselves.
    CHECK (assigned_by <> principal_id)
);
-- One live assignment of a duty per principal and tender.
CREATE UNIQUE INDEX tender_staff_live ON tender_staff (tender_id, principal_id, duty) WHERE revoked_at IS NULL;
CREATE INDEX tender_staff_principal ON tender_staff (principal_id) WHERE revoked_at IS NULL;

-- The irreversible steps of an opening are guarded by the tender: the decrypt window opens
-- only after bidders had checkin_minutes to check in, and the steps named in cosign need a
-- supervisor's co-signature.
ALTER TABLE tenders ADD COLUMN checkin_minutes int NOT NULL DEFAULT 15 CHECK (checkin_minutes BETWEEN 1 AND 120);
ALTER TABLE tenders ADD COLUMN cosign text[] NOT NULL DEFAULT '{}'
    CHECK (cosign <@ ARRAY['decrypting', 'qualification']::text[]);
ALTER TABLE halls ADD COLUMN checkin_opened_at timestamptz;
-- A hall checking in when this migration runs started its check-in at its last change.
UPDATE halls SET checkin_opened_at = updated_at WHERE state = 'checking_in';

-- A host's proposal of a step that needs a supervisor's co-signature (监督会签): it is carried
-- out when an assigned supervisor, not the proposer, co-signs it, once.
CREATE TABLE hall_proposals (
    id          uuid        PRIMARY KEY,
    section_id  uuid        NOT NULL REFERENCES halls (section_id),
    round       int         NOT NULL,
    step        text        NOT NULL CHECK (step IN ('decrypting', 'qualification')),
    request     jsonb       NOT NULL,
    proposed_by uuid        NOT NULL REFERENCES principals (id),
    proposed_at timestamptz NOT NULL,
    cosigned_by uuid        REFERENCES principals (id),
    cosigned_at timestamptz,
    CHECK ((cosigned_by IS NULL) = (cosigned_at IS NULL)),
    CHECK (cosigned_by <> proposed_by)
);
CREATE INDEX hall_proposals_section ON hall_proposals (section_id, round);

---- create above / drop below ----

DROP TABLE hall_proposals;
ALTER TABLE tenders DROP COLUMN cosign;

ALTER TABLE halls DROP COLUMN checkin_opened_at;
ALTER TABLE tenders DROP COLUMN checkin_minutes;
DROP TABLE tender_staff;
