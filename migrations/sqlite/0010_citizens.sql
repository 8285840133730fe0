-- Citizens signed in through an OpenID Connect provider (ЕСИА), SQLite flavour. Keep in step
-- with ../postgres/0010_citizens.sql: same columns, same names. Integers are INTEGER,
-- timestamps epoch milliseconds.

-- Which account a provider's subject is. The subject itself is not kept: subject_hash is the
-- hex HMAC-SHA256 (or SHA-256) of provider and subject made by the web crate, so a copy of
-- the database does not list the citizens' federal identifiers.
CREATE TABLE citizen_identities (
    provider     TEXT    NOT NULL CHECK (length(provider) > 0),
    subject_hash TEXT    NOT NULL CHECK (length(subject_hash) = 64),
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_sign_in_at INTEGER NOT NULL,
    UNIQUE (provider, subject_hash)
);
CREATE INDEX citizen_identities_user ON citizen_identities (user_id);

-- Sign-ins under way: the authorization request's state (its SHA-256), nonce and PKCE code
-- verifier, until the provider sends the browser back (used once, then deleted).
CREATE TABLE oidc_logins (
    state_hash    TEXT    PRIMARY KEY CHECK (length(state_hash) = 64),
    nonce         TEXT    NOT NULL,
    code_verifier TEXT    NOT NULL,
    return_to     TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX oidc_logins_created ON oidc_logins (created_at);

-- A citizen's own messages (/my/messages).
CREATE INDEX messages_author ON messages (author_id, id);
