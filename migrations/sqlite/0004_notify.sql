-- Notifications and attachments, SQLite flavour. Keep in step with ../postgres/0004_notify.sql:
-- same columns, same names. Integers are INTEGER, timestamps epoch milliseconds.

-- The e-mail outbox. status: pending (to send; leased to one sender until lease_until, the
-- lease identified by lease_token), sent (never sent again), dead (gave up after max_attempts
-- or a permanent failure). attempts counts claims.
CREATE TABLE email_outbox (
    id              INTEGER PRIMARY KEY,
    idempotency_key TEXT    NOT NULL UNIQUE CHECK (length(idempotency_key) > 0),
    message_id      INTEGER REFERENCES messages (id),
    template        TEXT    NOT NULL CHECK (length(template) > 0),
    recipient       TEXT    NOT NULL CHECK (length(recipient) > 0),
    subject         TEXT    NOT NULL,
    body_text       TEXT    NOT NULL,
    body_html       TEXT,
    status          TEXT    NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sent', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL CHECK (max_attempts > 0),
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    lease_token     TEXT,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX email_outbox_due ON email_outbox (status, next_attempt_at, id);
CREATE INDEX email_outbox_message ON email_outbox (message_id);

-- Signed rating links used once: the digest of the link's token, with the rating it carried.
CREATE TABLE rating_link_uses (
    token_digest TEXT    PRIMARY KEY CHECK (length(token_digest) = 64),
    message_id   INTEGER NOT NULL REFERENCES messages (id),
    rating       INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER NOT NULL
);
CREATE INDEX rating_link_uses_message ON rating_link_uses (message_id);

-- Attachments: the content lives on disk under its SHA-256 (one file for identical uploads);
-- one row per upload, linked to its message once attached.
CREATE TABLE attachments (
    id          INTEGER PRIMARY KEY,
    sha256      TEXT    NOT NULL CHECK (length(sha256) = 64),
    size_bytes  INTEGER NOT NULL CHECK (size_bytes > 0),
    media_type  TEXT    NOT NULL
        CHECK (media_type IN ('image/jpeg', 'image/png', 'image/webp', 'application/pdf')),
    file_name   TEXT    NOT NULL CHECK (length(file_name) > 0),
    message_id  INTEGER REFERENCES messages (id),
    created_at  INTEGER NOT NULL,
    attached_at INTEGER
);
CREATE INDEX attachments_message ON attachments (message_id, id);
CREATE INDEX attachments_sha256 ON attachments (sha256);
