-- Remote evaluation: the expert pool with its avoidance facts, the verifiable draws with their
-- snapshots and members, and the seat directory (venues, seats, bookings). See evaluation/
-- and evaluation/DRAW.md.

-- btree_gist lets one exclusion constraint combine equality on a seat with overlap of ranges.
-- It ships with PostgreSQL (Debian's postgresql-15 includes the contrib modules).
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE experts (
    id            uuid             PRIMARY KEY,
    code          text             NOT NULL CONSTRAINT experts_code_key UNIQUE,
    name          text             NOT NULL CHECK (name <> ''),
    phone         text             NOT NULL DEFAULT '',
    principal_id  uuid             CONSTRAINT experts_principal_key UNIQUE REFERENCES principals (id),
    employer      text             NOT NULL CHECK (employer <> ''),
    titles        text[]           NOT NULL DEFAULT '{}',
    specialties   text[]           NOT NULL CHECK (cardinality(specialties) > 0),
    city          text             NOT NULL,
    lat           double precision NOT NULL,
    lon           double precision NOT NULL,
    status        text             NOT NULL CHECK (status IN ('active', 'suspended', 'on_leave')),
    status_reason text             NOT NULL DEFAULT '',
    created_at    timestamptz      NOT NULL,
    updated_at    timestamptz      NOT NULL
);
CREATE INDEX experts_specialties ON experts USING gin (specialties);

-- Relations an expert declared with organisations (申报关联关系).
CREATE TABLE expert_relations (
    id           uuid        PRIMARY KEY,
    expert_id    uuid        NOT NULL REFERENCES experts (id),
    organisation text        NOT NULL,
    kind         text        NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX expert_relations_expert ON expert_relations (expert_id);

-- The calendar: periods the expert cannot evaluate. Available is the default.
CREATE TABLE expert_unavailability (
    id         uuid        PRIMARY KEY,
    expert_id  uuid        NOT NULL REFERENCES experts (id),
    during     tstzrange   NOT NULL CHECK (NOT isempty(during)),
    note       text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);
CREATE INDEX expert_unavailability_during ON expert_unavailability USING gist (during);

CREATE TABLE expert_history (
    id          uuid        PRIMARY KEY,
    expert_id   uuid        NOT NULL REFERENCES experts (id),
    tender_code text        NOT NULL,
    tenderer    text        NOT NULL,
    served_at   timestamptz NOT NULL,
    draw_id     uuid,
    created_at  timestamptz NOT NULL
);
CREATE INDEX expert_history_served ON expert_history (served_at);

CREATE TABLE expert_assessments (
    id          uuid        PRIMARY KEY,
    expert_id   uuid        NOT NULL REFERENCES experts (id),
    tender_code text        NOT NULL,
    score       int         NOT NULL CHECK (score BETWEEN 0 AND 100),
    comment     text        NOT NULL DEFAULT '',
    assessed_by uuid,
    assessed_at timestamptz NOT NULL
);
CREATE INDEX expert_assessments_expert ON expert_assessments (expert_id);

CREATE TABLE expert_violations (
    id           uuid        PRIMARY KEY,
    expert_id    uuid        NOT NULL REFERENCES experts (id),
    description  text        NOT NULL,
    decision     text        NOT NULL,
    banned_until timestamptz,
    recorded_by  uuid,
    recorded_at  timestamptz NOT NULL
);
CREATE INDEX expert_violations_expert ON expert_violations (expert_id);

-- The seat directory (工位共享资源目录).
CREATE TABLE venues (
    id         uuid             PRIMARY KEY,
    code       text             NOT NULL CONSTRAINT venues_code_key UNIQUE CHECK (code ~ '^[1-8][0-9]{5}-[0-9]{3}$'),
    name       text             NOT NULL,
    city       text             NOT NULL CHECK (left(code, 6) = city),
    address    text             NOT NULL,
    lat        double precision NOT NULL,
    lon        double precision NOT NULL,
    can_host   boolean          NOT NULL,
    created_at timestamptz      NOT NULL
);

CREATE TABLE venue_staff (
    venue_id     uuid        NOT NULL REFERENCES venues (id),
    principal_id uuid        NOT NULL REFERENCES principals (id),
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (venue_id, principal_id)
);
CREATE INDEX venue_staff_principal ON venue_staff (principal_id);

CREATE TABLE seats (
    id         uuid        PRIMARY KEY,
    venue_id   uuid        NOT NULL REFERENCES venues (id),
    code       text        NOT NULL,
    equipment  text[]      NOT NULL DEFAULT '{}',
    status     text        NOT NULL CHECK (status IN ('available', 'maintenance', 'retired')),
    created_at timestamptz NOT NULL,
    CONSTRAINT seats_venue_code_key UNIQUE (venue_id, code)
);

-- A booking holds a seat for [lower, upper). The exclusion constraint is what makes double
-- booking impossible, whatever the application does and however many transactions race:
-- two active bookings of one seat never overlap. A cancelled booking frees its range.
CREATE TABLE seat_bookings (
    id            uuid        PRIMARY KEY,
    seat_id       uuid        NOT NULL REFERENCES seats (id),
    during        tstzrange   NOT NULL CHECK (NOT isempty(during) AND lower_inc(during) AND NOT upper_inc(during)),
    purpose       text        NOT NULL,
    draw_id       uuid,
    expert_id     uuid REFERENCES experts (id),
    created_by    uuid,
    created_at    timestamptz NOT NULL,
    cancelled_at  timestamptz,
    cancel_reason text        NOT NULL DEFAULT '',
    CONSTRAINT seat_bookings_no_overlap EXCLUDE USING gist (seat_id WITH =, during WITH &&) WHERE (cancelled_at IS NULL)
);

-- Draws (专家抽取). The seed is NULL until it is revealed.
CREATE TABLE draws (
    id              uuid        PRIMARY KEY,
    tender_id       uuid        NOT NULL REFERENCES tenders (id),
    tender_code     text        NOT NULL,
    tenderer        text        NOT NULL,
    request         jsonb       NOT NULL,
    rules           jsonb       NOT NULL,
    status          text        NOT NULL CHECK (status IN ('committed', 'awaiting_seed', 'drawn', 'failed')),
    commitment      text        NOT NULL CHECK (commitment ~ '^[0-9a-f]{64}$'),
    seed            text        CHECK (seed ~ '^[0-9a-f]{64}$'),
    session         tstzrange   NOT NULL,
    host_venue_id   uuid        NOT NULL REFERENCES venues (id),
    snapshot_digest text        NOT NULL DEFAULT '',
    snapshot_size   int         NOT NULL DEFAULT 0,
    excluded        int         NOT NULL DEFAULT 0,
    failure         text        NOT NULL DEFAULT '',
    published_at    timestamptz,
    created_by      uuid,
    created_at      timestamptz NOT NULL,
    drawn_at        timestamptz
);
CREATE INDEX draws_tender ON draws (tender_id, created_at);

-- The snapshot's canonical bytes and the exclusions' JSON, kept as bytes (not jsonb, which
-- would normalise them) so their ledgered digests can be recomputed.
CREATE TABLE draw_snapshots (
    draw_id    uuid  PRIMARY KEY REFERENCES draws (id),
    snapshot   bytea NOT NULL,
    exclusions bytea NOT NULL
);

CREATE TABLE draw_members (
    draw_id      uuid        NOT NULL REFERENCES draws (id),
    expert_id    uuid        NOT NULL REFERENCES experts (id),
    quota        text        NOT NULL,
    position     int         NOT NULL CHECK (position >= 0),
    outside      boolean     NOT NULL,
    round        int         NOT NULL CHECK (round >= 0),
    replaces     uuid,
    state        text        NOT NULL CHECK (state IN ('pending', 'accepted', 'declined', 'no_show')),
    respond_by   timestamptz NOT NULL,
    responded_at timestamptz,
    reason       text        NOT NULL DEFAULT '',
    PRIMARY KEY (draw_id, expert_id)
);
CREATE INDEX draw_members_expert ON draw_members (expert_id);

-- Declines and no-shows in order, with the replacement the sequence gave (NULL: nobody left).
CREATE TABLE draw_replacements (
    draw_id     uuid        NOT NULL REFERENCES draws (id),
    n           int         NOT NULL CHECK (n > 0),
    out_expert  uuid        NOT NULL,
    outcome     text        NOT NULL CHECK (outcome IN ('declined', 'no_show')),
    reason      text        NOT NULL,
    replacement jsonb,
    at          timestamptz NOT NULL,
    PRIMARY KEY (draw_id, n)
);

CREATE TABLE draw_assignments (
    draw_id         uuid             NOT NULL REFERENCES draws (id),
    expert_id       uuid             NOT NULL REFERENCES experts (id),
    venue_id        uuid             NOT NULL REFERENCES venues (id),
    seat_id         uuid             NOT NULL REFERENCES seats (id),
    booking_id      uuid             NOT NULL REFERENCES seat_bookings (id),
    host            boolean          NOT NULL,
    distance_km     double precision NOT NULL,
    override_reason text             NOT NULL DEFAULT '',
    assigned_at     timestamptz      NOT NULL,
    released_at     timestamptz
);
CREATE UNIQUE INDEX draw_assignments_current ON draw_assignments (draw_id, expert_id) WHERE released_at IS NULL;

-- A draw's snapshot is evidence: once written it never changes.
CREATE FUNCTION draw_snapshot_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a draw snapshot is evidence: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER draw_snapshots_frozen BEFORE UPDATE OR DELETE ON draw_snapshots
    FOR EACH ROW EXECUTE FUNCTION draw_snapshot_frozen();

-- `kaiping draw verify` reads a draw's entries by subject.
CREATE INDEX ledger_entries_subject ON ledger_entries (subject);

---- create above / drop below ----

DROP INDEX ledger_entries_subject;
DROP TABLE draw_assignments;
DROP TABLE draw_replacements;
DROP TABLE draw_members;
DROP TABLE draw_snapshots;
DROP FUNCTION draw_snapshot_frozen() CASCADE;
DROP TABLE draws;
DROP TABLE seat_bookings;
DROP TABLE seats;
DROP TABLE venue_staff;
DROP TABLE venues;
DROP TABLE expert_violations;
DROP TABLE expert_assessments;
DROP TABLE expert_history;
DROP TABLE expert_unavailability;
DROP TABLE expert_relations;
DROP TABLE experts;
