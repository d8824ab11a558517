-- The publication of the candidates (中标候选人公示, 条例 Art. 54) and the objections to it.
--
-- One publication per section of a closed evaluation session: the public facts it shows are
-- kept as they were published (body: the tender's code and title, the section, the method's
-- kind and the candidates in rank order with names, prices and totals), so that the public
-- page reads one row and shows what was published even if a name changes later. An
-- objection (异议) pauses the publication until host staff answer it in writing.

CREATE TABLE publications (
    id           uuid        PRIMARY KEY,
    session_id   uuid        NOT NULL REFERENCES eval_sessions (id),
    tender_id    uuid        NOT NULL REFERENCES tenders (id),
    section_id   uuid        NOT NULL REFERENCES tender_sections (id),
    state        text        NOT NULL CHECK (state IN ('open', 'paused', 'concluded')),
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL CHECK (ends_at > starts_at),
    report_at    timestamptz NOT NULL,
    body         jsonb       NOT NULL,
    version      bigint      NOT NULL CHECK (version >= 1),
    published_by uuid        NOT NULL REFERENCES principals (id),
    published_at timestamptz NOT NULL,
    concluded_by uuid        REFERENCES principals (id),
    concluded_at timestamptz,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT publications_section UNIQUE (session_id, section_id),
    CONSTRAINT publications_concluded CHECK ((state = 'concluded') = (concluded_at IS NOT NULL))
);
-- The public list: what has started, newest first.
CREATE INDEX publications_public ON publications (starts_at DESC, id);

CREATE TABLE publication_objections (
    id             uuid        PRIMARY KEY,
    publication_id uuid        NOT NULL REFERENCES publications (id),
    no             int         NOT NULL CHECK (no >= 1),
    bidder_id      uuid        NOT NULL REFERENCES principals (id),
    bidder_name    text        NOT NULL,
    text           text        NOT NULL CHECK (text <> ''),
    filed_at       timestamptz NOT NULL,
    due_at         timestamptz NOT NULL CHECK (due_at > filed_at),
    answer         text        NOT NULL DEFAULT '',
    answered_by    uuid        REFERENCES principals (id),
    answered_at    timestamptz,
    CONSTRAINT publication_objections_answered CHECK ((answer = '') = (answered_at IS NULL) AND (answered_at IS NULL) = (answered_by IS NULL))
);
CREATE UNIQUE INDEX publication_objections_no ON publication_objections (publication_id, no);

---- create above / drop below ----

DROP TABLE publication_objections;
DROP TABLE publications;
