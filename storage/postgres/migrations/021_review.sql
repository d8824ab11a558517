-- The committee's review of a section's bids (评审): each member's marks, their submissions,
-- and the committee's own record per section.
--
-- Marks are what a member enters, bid by bid and item by item: a pass/fail verdict of the
-- initial review (value 1 or 0, with the reason a fail needs) or a score of the detailed
-- review in hundredths of a point, with the page of the bid it rests on. They are saved as the
-- member goes and ledgered, with a digest of them all, when the member submits the stage.
-- The section's review (eval_reviews) is an aggregate like the session: the committee's
-- decisions (否决, adjustments, below-cost), the stage, the notes on warnings and the chair's
-- summary, one JSON body changed under the session's lock with a ledger entry and an event.

CREATE TABLE eval_reviews (
    session_id uuid        NOT NULL REFERENCES eval_sessions (id),
    section_id uuid        NOT NULL REFERENCES tender_sections (id),
    body       jsonb       NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (session_id, section_id)
);

CREATE TABLE eval_marks (
    session_id uuid        NOT NULL,
    section_id uuid        NOT NULL,
    member_id  uuid        NOT NULL,
    stage      text        NOT NULL CHECK (stage IN ('initial', 'detailed')),
    bidder_id  uuid        NOT NULL,
    item       text        NOT NULL CHECK (item <> ''),
    value      bigint      NOT NULL CHECK (value >= 0),
    reason     text        NOT NULL DEFAULT '',
    page       integer     CHECK (page IS NULL OR page > 0),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (session_id, section_id, stage, member_id, bidder_id, item),
    FOREIGN KEY (session_id, section_id) REFERENCES eval_reviews (session_id, section_id)
);

CREATE TABLE eval_submissions (
    session_id   uuid        NOT NULL,
    section_id   uuid        NOT NULL,
    member_id    uuid        NOT NULL,
    stage        text        NOT NULL CHECK (stage IN ('initial', 'detailed')),
    digest       text        NOT NULL,
    submitted_at timestamptz NOT NULL,
    ledger_seq   bigint      NOT NULL,
    PRIMARY KEY (session_id, section_id, stage, member_id),
    FOREIGN KEY (session_id, section_id) REFERENCES eval_reviews (session_id, section_id)
);

-- The committee's review is for the members and overseers, not the venues' staff.
ALTER TABLE eval_session_events DROP CONSTRAINT eval_session_events_audience_check,
    ADD CONSTRAINT eval_session_events_audience_check CHECK (audience IN ('all', 'overseers', 'committee', 'member', 'venue'));

---- create above / drop below ----

DROP TABLE eval_submissions;
DROP TABLE eval_marks;
DROP TABLE eval_reviews;
ALTER TABLE eval_session_events DROP CONSTRAINT eval_session_events_audience_check,
    ADD CONSTRAINT eval_session_events_audience_check CHECK (audience IN ('all', 'overseers', 'member', 'venue'));
