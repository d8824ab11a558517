-- The committee's written requests to bidders during review (澄清、说明、补正; arithmetic
-- correction; below-cost explanation) and the bidders' signed answers.
--
-- An inquiry is decided on under its session's lock (evaluation/inquiry_rules.go) and written
-- with its ledger entry and its session event in one transaction. Its texts, the answer's
-- signature and the supervisor's review are kept in the JSON body; the columns are what is
-- searched: the session's list, the bidder's list across sessions.
CREATE TABLE eval_inquiries (
    id         uuid        PRIMARY KEY,
    -- seq orders the inquiries as they were written (several may share an instant).
    seq        bigint      GENERATED ALWAYS AS IDENTITY,
    session_id uuid        NOT NULL REFERENCES eval_sessions (id),
    section_id uuid        NOT NULL REFERENCES tender_sections (id),
    bidder_id  uuid        NOT NULL REFERENCES principals (id),
    state      text        NOT NULL CHECK (state IN ('pending', 'sent', 'answered', 'refused', 'withdrawn')),
    deadline   timestamptz NOT NULL,
    body       jsonb       NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX eval_inquiries_session ON eval_inquiries (session_id, seq);
CREATE INDEX eval_inquiries_bidder ON eval_inquiries (bidder_id, seq);

-- An inquiry's events are for the committee group that asked (and the overseers): neither
-- the other groups nor the venue staff read them.
ALTER TABLE eval_session_events ADD COLUMN group_id text,
    DROP CONSTRAINT eval_session_events_audience_check,
    ADD CONSTRAINT eval_session_events_audience_check CHECK (audience IN ('all', 'overseers', 'committee', 'member', 'venue', 'group')),
    ADD CONSTRAINT eval_session_events_group CHECK ((audience = 'group') = (group_id IS NOT NULL));

---- create above / drop below ----

DELETE FROM eval_session_events WHERE audience = 'group';
ALTER TABLE eval_session_events DROP CONSTRAINT eval_session_events_group,
    DROP CONSTRAINT eval_session_events_audience_check,
    ADD CONSTRAINT eval_session_events_audience_check CHECK (audience IN ('all', 'overseers', 'committee', 'member', 'venue')),
    DROP COLUMN group_id;
DROP TABLE eval_inquiries;
