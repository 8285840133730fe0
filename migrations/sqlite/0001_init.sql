-- Otklik schema, SQLite flavour. Keep in step with ../postgres/0001_init.sql:
-- same tables, same column names. Integers are INTEGER (64-bit in SQLite), timestamps are
-- epoch milliseconds, booleans are 0/1, lists are JSON text.

CREATE TABLE territories (
    id            INTEGER PRIMARY KEY,
    code          TEXT    NOT NULL UNIQUE,
    kind          TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    parent_id     INTEGER REFERENCES territories (id),
    name_variants TEXT    NOT NULL DEFAULT '[]'
);
CREATE INDEX territories_parent ON territories (parent_id);

CREATE TABLE organisations (
    id               INTEGER PRIMARY KEY,
    code             TEXT    NOT NULL UNIQUE,
    kind             TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    short_name       TEXT,
    parent_id        INTEGER REFERENCES organisations (id),
    territory_id     INTEGER NOT NULL REFERENCES territories (id),
    competences      TEXT    NOT NULL DEFAULT '[]',
    account_ready    INTEGER NOT NULL DEFAULT 0 CHECK (account_ready IN (0, 1)),
    training_done    INTEGER NOT NULL DEFAULT 0 CHECK (training_done IN (0, 1)),
    widget_installed INTEGER NOT NULL DEFAULT 0 CHECK (widget_installed IN (0, 1)),
    site_url         TEXT
);
CREATE INDEX organisations_territory ON organisations (territory_id);
CREATE INDEX organisations_parent ON organisations (parent_id);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    login           TEXT    NOT NULL UNIQUE,
    full_name       TEXT    NOT NULL,
    email           TEXT,
    organisation_id INTEGER REFERENCES organisations (id),
    confirmed       INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1)),
    password_hash   TEXT
);
CREATE INDEX users_organisation ON users (organisation_id);

CREATE TABLE user_roles (
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            TEXT    NOT NULL,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    UNIQUE (user_id, role, organisation_id)
);
CREATE INDEX user_roles_organisation ON user_roles (organisation_id, role);

CREATE TABLE sources (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    network      TEXT    NOT NULL,
    target       TEXT    NOT NULL,
    schedule     TEXT    NOT NULL,
    territory_id INTEGER REFERENCES territories (id),
    enabled      INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1))
);

CREATE TABLE source_state (
    source_id       INTEGER PRIMARY KEY REFERENCES sources (id) ON DELETE CASCADE,
    cursor          TEXT,
    last_success_at INTEGER,
    last_error_at   INTEGER,
    last_error      TEXT,
    items_total     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE posts (
    id           INTEGER PRIMARY KEY,
    source_id    INTEGER NOT NULL REFERENCES sources (id),
    network      TEXT    NOT NULL,
    external_id  TEXT    NOT NULL CHECK (length(external_id) > 0),
    url          TEXT,
    author       TEXT,
    text         TEXT    NOT NULL,
    published_at INTEGER NOT NULL,
    collected_at INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    content_hash TEXT    NOT NULL CHECK (length(content_hash) > 0),
    deleted      INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    UNIQUE (network, external_id)
);
CREATE INDEX posts_source ON posts (source_id, published_at);

CREATE TABLE post_versions (
    id           INTEGER PRIMARY KEY,
    post_id      INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    content_hash TEXT    NOT NULL,
    text         TEXT    NOT NULL,
    seen_at      INTEGER NOT NULL
);
CREATE INDEX post_versions_post ON post_versions (post_id);

CREATE TABLE communities (
    id              INTEGER PRIMARY KEY,
    network         TEXT    NOT NULL,
    external_id     TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    verification    TEXT    NOT NULL,
    UNIQUE (network, external_id)
);
CREATE INDEX communities_organisation ON communities (organisation_id);

CREATE TABLE messages (
    id               INTEGER PRIMARY KEY,
    status           TEXT    NOT NULL,
    version          INTEGER NOT NULL,
    channel          TEXT    NOT NULL,
    subcategory      TEXT    NOT NULL,
    territory_id     INTEGER REFERENCES territories (id),
    executor_id      INTEGER REFERENCES organisations (id),
    submitted_via_id INTEGER REFERENCES organisations (id),
    author_id        INTEGER REFERENCES users (id),
    author_handle    TEXT,
    source_post_id   INTEGER REFERENCES posts (id),
    text             TEXT    NOT NULL,
    address          TEXT,
    confidence_pm    INTEGER CHECK (confidence_pm BETWEEN 0 AND 1000),
    rating           INTEGER CHECK (rating BETWEEN 1 AND 5),
    created_at       INTEGER NOT NULL,
    deadline_at      INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    idempotency_key  TEXT    UNIQUE,
    rejection_reason TEXT,
    answer_text      TEXT
);
CREATE INDEX messages_status ON messages (status, id);
CREATE INDEX messages_executor ON messages (executor_id, status);
CREATE INDEX messages_deadline ON messages (deadline_at);

CREATE TABLE polls (
    id              INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    title           TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    territory_id    INTEGER REFERENCES territories (id),
    starts_at       INTEGER NOT NULL,
    ends_at         INTEGER NOT NULL
);
CREATE INDEX polls_organisation ON polls (organisation_id);

-- Append-only; actor_id has no foreign key so the trail outlives deleted accounts.
CREATE TABLE audit_events (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor_id  INTEGER,
    entity    TEXT    NOT NULL,
    entity_id INTEGER NOT NULL,
    action    TEXT    NOT NULL,
    detail    TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_entity ON audit_events (entity, entity_id, id);
CREATE INDEX audit_events_at ON audit_events (at);
