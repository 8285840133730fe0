-- Web sign-in (issue 6), SQLite flavour. Keep in step with ../postgres/0005_web.sql: same
-- columns, same names. Timestamps are epoch milliseconds.

-- Server-side sessions. The random 256-bit session id travels only in the cookie; the table
-- keeps its SHA-256 (hex), so a read of the database does not yield usable sessions.
-- kind: staff | citizen. The CSRF token is the synchronizer token of the session's forms.
CREATE TABLE sessions (
    id_hash      TEXT    PRIMARY KEY CHECK (length(id_hash) = 64),
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL CHECK (kind IN ('staff', 'citizen')),
    csrf_token   TEXT    NOT NULL CHECK (length(csrf_token) > 0),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    ip           TEXT,
    user_agent   TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);

-- Failed sign-ins per login and per client address (scope: login | ip), shared by every node.
-- failures counts within the window that began at window_start; locked_until is set when
-- they reach the limit.
CREATE TABLE login_throttle (
    scope        TEXT    NOT NULL CHECK (scope IN ('login', 'ip')),
    subject      TEXT    NOT NULL,
    failures     INTEGER NOT NULL DEFAULT 0,
    window_start INTEGER NOT NULL,
    locked_until INTEGER,
    PRIMARY KEY (scope, subject)
);
