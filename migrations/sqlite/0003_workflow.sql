-- The messages workflow (issue 5), SQLite flavour. Keep in step with ../postgres/0003_workflow.sql:
-- same columns, same names, same defaults. Timestamps are epoch milliseconds, flags 0/1, lists
-- JSON text. One ALTER per column (as SQLite requires).

-- What the intake brings beside the text.
ALTER TABLE messages ADD COLUMN payload_hash TEXT;
ALTER TABLE messages ADD COLUMN citizen_contact TEXT;
ALTER TABLE messages ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN external_system TEXT;
ALTER TABLE messages ADD COLUMN external_id TEXT;
ALTER TABLE messages ADD COLUMN source_url TEXT;
ALTER TABLE messages ADD COLUMN fast_track INTEGER NOT NULL DEFAULT 0 CHECK (fast_track IN (0, 1));
ALTER TABLE messages ADD COLUMN moderation_note TEXT;
-- Moderation, execution and approval notes.
ALTER TABLE messages ADD COLUMN reject_reason_code TEXT;
ALTER TABLE messages ADD COLUMN revision_comment TEXT;
-- The deadline clock: paused while waiting for the citizen; postponements move deadline_at.
ALTER TABLE messages ADD COLUMN clock_paused_at INTEGER;
ALTER TABLE messages ADD COLUMN paused_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN postponements INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN postpone_reason TEXT;
ALTER TABLE messages ADD COLUMN first_reply_due_at INTEGER;
-- The workflow's deadline clock (pauses, postponements with reasons) as JSON text.
ALTER TABLE messages ADD COLUMN deadline_clock TEXT;
-- Near-duplicates: the first message of the group, and the text's MinHash signature (hex).
ALTER TABLE messages ADD COLUMN duplicate_group INTEGER REFERENCES messages (id);
ALTER TABLE messages ADD COLUMN text_signature TEXT;
ALTER TABLE messages ADD COLUMN answered_at INTEGER;
ALTER TABLE messages ADD COLUMN reopened INTEGER NOT NULL DEFAULT 0;
-- Partial indexes: most messages have no external id and no group, and need no entry (fewer
-- index pages written per submission); `x = $1` lookups imply `x IS NOT NULL` and use them.
CREATE UNIQUE INDEX messages_external ON messages (external_system, external_id)
    WHERE external_system IS NOT NULL;
CREATE INDEX messages_group ON messages (duplicate_group) WHERE duplicate_group IS NOT NULL;

-- Idempotency of state-changing calls: the key, what the call was (operation and a hash of
-- its payload) and the message record it produced, as JSON.
CREATE TABLE workflow_requests (
    idempotency_key TEXT    PRIMARY KEY CHECK (length(idempotency_key) > 0),
    message_id      INTEGER    NOT NULL REFERENCES messages (id),
    operation       TEXT    NOT NULL,
    payload_hash    TEXT    NOT NULL,
    result          TEXT    NOT NULL,
    created_at      INTEGER    NOT NULL
);

-- Locality-sensitive buckets of message texts (MinHash bands) for the duplicate search.
-- Keyed by the lookup itself, so one b-tree holds it (WITHOUT ROWID): a message adds 8
-- entries. The time window of the search is checked on the message (no created_at here: a
-- smaller row, fewer pages written per submission).
CREATE TABLE message_bands (
    territory_id INTEGER NOT NULL,
    band         INTEGER NOT NULL,
    message_id   INTEGER NOT NULL REFERENCES messages (id),
    PRIMARY KEY (territory_id, band, message_id)
) WITHOUT ROWID;

-- Escalation notices of the curator's control: one per message, kind and deadline.
-- kind: at_risk | overdue. notified_at is set once the e-mail outbox took it.
CREATE TABLE escalations (
    id              INTEGER PRIMARY KEY,
    message_id      INTEGER    NOT NULL REFERENCES messages (id),
    organisation_id INTEGER    REFERENCES organisations (id),
    kind            TEXT    NOT NULL CHECK (kind IN ('at_risk', 'overdue')),
    deadline_at     INTEGER    NOT NULL,
    created_at      INTEGER    NOT NULL,
    notified_at     INTEGER,
    UNIQUE (message_id, kind, deadline_at)
);
CREATE INDEX escalations_organisation ON escalations (organisation_id, id);
