-- Notices to people (站内通知) and their delivery by e-mail and gateway (短信/语音).
--
-- A notice is written once, by the action that causes it, after that action committed; the
-- recipient reads it in the inbox and marks it read (reading is not ledgered: it changes
-- nothing anyone else relies on). Each channel a notice goes out on is a row of the outbox,
-- written in the notice's own transaction, that a worker delivers with retries and backoff:
-- a gateway that is down never fails the action, and a restart loses nothing.
CREATE TABLE notices (
    id           uuid        PRIMARY KEY,
    -- seq orders the notices as they were written (several may share an instant).
    seq          bigint      GENERATED ALWAYS AS IDENTITY,
    -- principal_id is the inbox it is in; NULL for an expert without a login yet, whom the
    -- notice reaches by e-mail and gateway only.
    principal_id uuid        REFERENCES principals (id),
    kind         text        NOT NULL,
    title        text        NOT NULL,
    body         text        NOT NULL,
    link         text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    read_at      timestamptz
);
CREATE INDEX notices_inbox ON notices (principal_id, seq DESC);

CREATE TABLE notice_outbox (
    id         uuid        PRIMARY KEY,
    notice_id  uuid        NOT NULL REFERENCES notices (id),
    channel    text        NOT NULL CHECK (channel IN ('email', 'webhook')),
    -- address is the e-mail address or the phone number the gateway sends to.
    address    text        NOT NULL,
    attempts   int         NOT NULL DEFAULT 0,
    next_at    timestamptz NOT NULL,
    last_error text        NOT NULL DEFAULT '',
    sent_at    timestamptz,
    -- failed_at is set when the attempts are spent: the host follows up by phone.
    failed_at  timestamptz
);
CREATE INDEX notice_outbox_due ON notice_outbox (next_at) WHERE sent_at IS NULL AND failed_at IS NULL;

-- An expert's e-mail address, beside the phone number the gateways use.
ALTER TABLE experts ADD COLUMN email text NOT NULL DEFAULT '';
