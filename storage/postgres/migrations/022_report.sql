-- The evaluation report (评标报告) of a session and the members' signatures.
--
-- The report is kept as its canonical bytes with their digest, and its PDF as the latest
-- revision: every member's PDF signature is an incremental update appended to the previous
-- revision, so the latest holds every earlier one as its prefix and nothing is lost by
-- keeping only it. At close the final files go to object storage under the compliance lock.

CREATE TABLE eval_reports (
    session_id   uuid        PRIMARY KEY REFERENCES eval_sessions (id),
    digest       text        NOT NULL,
    body         bytea       NOT NULL,
    pdf          bytea,
    pdf_revision integer     NOT NULL DEFAULT 0 CHECK (pdf_revision >= 0),
    built_at     timestamptz NOT NULL,
    archive      jsonb
);

CREATE TABLE eval_report_signatures (
    session_id  uuid        NOT NULL REFERENCES eval_reports (session_id),
    member_id   uuid        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('signed', 'dissent', 'refused')),
    digest      text        NOT NULL,
    certificate text        NOT NULL DEFAULT '',
    signature   bytea,
    dissent     text        NOT NULL DEFAULT '',
    cms         bytea,
    pdf_revision integer    NOT NULL DEFAULT 0,
    at          timestamptz NOT NULL,
    ledger_seq  bigint      NOT NULL,
    PRIMARY KEY (session_id, member_id)
);

---- create above / drop below ----

DROP TABLE eval_report_signatures;
DROP TABLE eval_reports;
