-- The evaluation session (评标会议): one committee in several cities, from check-in to close.
--
-- A session is an aggregate the domain decides on as a whole (evaluation/session_rules.go):
-- its groups, members' progress (identity confirmed at the seat, pledge, 回避 declaration),
-- chair votes, suspensions and extension requests are kept as one JSON body, read and written
-- under the row's lock, each change with its ledger entry and its event in the same
-- transaction. Who may see an event is decided per kind (evaluation.SessionAudience) and
-- stored with it, as for the hall's events.

ALTER TABLE tenders ADD COLUMN government_procurement boolean NOT NULL DEFAULT false;

-- What the venue staff compare with the person at the seat (现场身份核验).
ALTER TABLE experts ADD COLUMN id_number text NOT NULL DEFAULT '',
    ADD COLUMN photo bytea CHECK (photo IS NULL OR length(photo) <= 262144),
    ADD COLUMN photo_type text NOT NULL DEFAULT '' CHECK (photo_type IN ('', 'image/jpeg', 'image/png'));

-- A committee member may also step aside (回避) or leave the post (擅离职守, illness); both are
-- replaced by the draw's sequence like a decline.
ALTER TABLE draw_members DROP CONSTRAINT draw_members_state_check,
    ADD CONSTRAINT draw_members_state_check CHECK (state IN ('pending', 'accepted', 'declined', 'no_show', 'recused', 'left'));
ALTER TABLE draw_replacements DROP CONSTRAINT draw_replacements_outcome_check,
    ADD CONSTRAINT draw_replacements_outcome_check CHECK (outcome IN ('declined', 'no_show', 'recused', 'left'));

CREATE TABLE eval_sessions (
    id         uuid        PRIMARY KEY,
    tender_id  uuid        NOT NULL REFERENCES tenders (id),
    state      text        NOT NULL CHECK (state IN ('scheduled', 'checking_in', 'in_review', 'signing',
                                                     'closed', 'suspended', 'void')),
    version    bigint      NOT NULL CHECK (version > 0),
    body       jsonb       NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX eval_sessions_tender ON eval_sessions (tender_id);
-- Venue staff find the sessions seated at their venues through the body's member list.
CREATE INDEX eval_sessions_body ON eval_sessions USING gin (body jsonb_path_ops);

-- A draw's committee sits in one session only, ever: a voided session needs a new committee.
CREATE TABLE eval_session_draws (
    draw_id    uuid PRIMARY KEY REFERENCES draws (id),
    session_id uuid NOT NULL REFERENCES eval_sessions (id)
);

CREATE TABLE eval_session_events (
    session_id uuid        NOT NULL REFERENCES eval_sessions (id),
    version    bigint      NOT NULL,
    type       text        NOT NULL,
    audience   text        NOT NULL CHECK (audience IN ('all', 'overseers', 'member', 'venue')),
    member_id  uuid,
    venue_id   uuid,
    payload    jsonb       NOT NULL,
    at         timestamptz NOT NULL,
    ledger_seq bigint      NOT NULL,
    PRIMARY KEY (session_id, version),
    CONSTRAINT eval_session_events_member CHECK ((audience = 'member') = (member_id IS NOT NULL)),
    CONSTRAINT eval_session_events_venue CHECK ((audience = 'venue') = (venue_id IS NOT NULL))
);

-- As the hall's: "<session_id>:<version>" on kaiping_session when the transaction commits.
CREATE FUNCTION eval_session_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('kaiping_session', NEW.session_id::text || ':' || NEW.version::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER eval_session_events_notify AFTER INSERT ON eval_session_events
    FOR EACH ROW EXECUTE FUNCTION eval_session_events_notify();

---- create above / drop below ----

DROP TRIGGER eval_session_events_notify ON eval_session_events;
DROP FUNCTION eval_session_events_notify();
DROP TABLE eval_session_events;
DROP TABLE eval_session_draws;
DROP TABLE eval_sessions;
ALTER TABLE draw_replacements DROP CONSTRAINT draw_replacements_outcome_check,
    ADD CONSTRAINT draw_replacements_outcome_check CHECK (outcome IN ('declined', 'no_show'));
ALTER TABLE draw_members DROP CONSTRAINT draw_members_state_check,
    ADD CONSTRAINT draw_members_state_check CHECK (state IN ('pending', 'accepted', 'declined', 'no_show'));
ALTER TABLE experts DROP COLUMN photo_type, DROP COLUMN photo, DROP COLUMN id_number;
ALTER TABLE tenders DROP COLUMN government_procurement;
