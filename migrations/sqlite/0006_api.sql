-- The JSON API and Open311, SQLite flavour. Keep in step with ../postgres/0006_api.sql: same
-- columns, same names. Integers are INTEGER, timestamps epoch milliseconds.

-- API tokens of integrations and mobile applications. Only the SHA-256 of the token is kept
-- (hex); `prefix` is its first characters, shown to operators to tell tokens apart.
-- organisation_id NULL = a regional token (every organisation's messages). scopes: a JSON list
-- of 'submit', 'read', 'integration'. The name doubles as the external system's id for
-- integration submissions, hence unique.
CREATE TABLE api_tokens (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE CHECK (length(name) > 0),
    token_hash      TEXT    NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    prefix          TEXT    NOT NULL,
    organisation_id INTEGER REFERENCES organisations (id),
    scopes          TEXT    NOT NULL,
    rate_per_minute INTEGER CHECK (rate_per_minute IS NULL OR rate_per_minute > 0),
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER,
    revoked_at      INTEGER
);

-- What an Open311 GeoReport v2 request carried beside the message itself: coordinates (as
-- the decimal text the client sent), the media URL and the requester's name and phone.
CREATE TABLE open311_requests (
    message_id  INTEGER PRIMARY KEY REFERENCES messages (id),
    token_id    INTEGER NOT NULL REFERENCES api_tokens (id),
    lat         TEXT,
    lon         TEXT,
    media_url   TEXT,
    first_name  TEXT,
    last_name   TEXT,
    phone       TEXT,
    device_id   TEXT,
    account_id  TEXT,
    created_at  INTEGER NOT NULL
);

-- The API lists an organisation's messages by executor or by place of submission.
CREATE INDEX messages_submitted_via ON messages (submitted_via_id, id);
