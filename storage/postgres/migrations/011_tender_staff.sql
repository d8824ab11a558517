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

-- The decrypt window opens only after bidders had the tender's checkin_minutes to check in.
ALTER TABLE tenders ADD COLUMN checkin_minutes int NOT NULL DEFAULT 15 CHECK (checkin_minutes BETWEEN 1 AND 120);
ALTER TABLE halls ADD COLUMN checkin_opened_at timestamptz;
-- A hall checking in when this migration runs started its check-in at its last change.
UPDATE halls SET checkin_opened_at = updated_at WHERE state = 'checking_in';

---- create above / drop below ----

ALTER TABLE halls DROP COLUMN checkin_opened_at;
ALTER TABLE tenders DROP COLUMN checkin_minutes;
DROP TABLE tender_staff;
