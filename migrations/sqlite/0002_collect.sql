-- Collectors and the Госпаблики registry, SQLite flavour. Keep in step with
-- ../postgres/0002_collect.sql: same columns, same names, same defaults. Integers are INTEGER,
-- timestamps epoch milliseconds, booleans 0/1, lists JSON text. One ALTER per column (SQLite
-- adds one column per statement).

-- Source health: failures in a row, the source's circuit breaker, what the last poll brought.
ALTER TABLE source_state ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE source_state ADD COLUMN circuit TEXT NOT NULL DEFAULT 'closed'
    CHECK (circuit IN ('closed', 'open', 'half_open'));
ALTER TABLE source_state ADD COLUMN open_until INTEGER;
ALTER TABLE source_state ADD COLUMN last_poll_at INTEGER;
ALTER TABLE source_state ADD COLUMN items_last_poll INTEGER NOT NULL DEFAULT 0;
ALTER TABLE source_state ADD COLUMN last_published_at INTEGER;
ALTER TABLE source_state ADD COLUMN next_run_at INTEGER;

-- The official community a source reads (its target names the community), when known.
ALTER TABLE sources ADD COLUMN community_id INTEGER REFERENCES communities (id);

-- Госпаблики registry.
ALTER TABLE communities ADD COLUMN resolved_name TEXT;
ALTER TABLE communities ADD COLUMN screen_name TEXT;
ALTER TABLE communities ADD COLUMN verified_at INTEGER;
ALTER TABLE communities ADD COLUMN last_post_at INTEGER;
ALTER TABLE communities ADD COLUMN members INTEGER;
ALTER TABLE communities ADD COLUMN required INTEGER NOT NULL DEFAULT 0
    CHECK (required IN (0, 1));
ALTER TABLE communities ADD COLUMN added_at INTEGER;

-- What collectors bring with a post, and what the classifier decides about it.
ALTER TABLE posts ADD COLUMN parent_external_id TEXT;
ALTER TABLE posts ADD COLUMN views INTEGER;
ALTER TABLE posts ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';
ALTER TABLE posts ADD COLUMN deleted_at INTEGER;
ALTER TABLE posts ADD COLUMN community_id INTEGER REFERENCES communities (id);
ALTER TABLE posts ADD COLUMN kind TEXT;
ALTER TABLE posts ADD COLUMN is_complaint INTEGER CHECK (is_complaint IN (0, 1));
ALTER TABLE posts ADD COLUMN subcategory TEXT;
ALTER TABLE posts ADD COLUMN confidence_pm INTEGER CHECK (confidence_pm BETWEEN 0 AND 1000);
ALTER TABLE posts ADD COLUMN territory_id INTEGER REFERENCES territories (id);
ALTER TABLE posts ADD COLUMN classified_at INTEGER;
ALTER TABLE posts ADD COLUMN message_id INTEGER REFERENCES messages (id);
CREATE INDEX posts_unclassified ON posts (published_at, id) WHERE classified_at IS NULL;
CREATE INDEX posts_community ON posts (community_id, published_at);
CREATE INDEX posts_published ON posts (published_at);
CREATE INDEX sources_community ON sources (community_id);

-- Rows stored before this migration: VK and OK pages of bodies are the ones the law requires;
-- link sources (and their posts) to the community their target names.
UPDATE communities SET required = 1 WHERE network IN ('vk', 'ok');
UPDATE sources SET community_id = (
    SELECT MIN(c.id) FROM communities c
    WHERE c.network = sources.network AND (c.external_id = sources.target OR c.url = sources.target)
);
UPDATE posts SET community_id = (SELECT s.community_id FROM sources s WHERE s.id = posts.source_id);

-- Answers posted back under the original post (VK wall.createComment): a durable outbox.
-- status: pending (to send, possibly leased by a worker until lease_until), delivered (never
-- sent again), failed (given up). attempts counts claims.
CREATE TABLE outbound_replies (
    id                 INTEGER PRIMARY KEY,
    message_id         INTEGER NOT NULL REFERENCES messages (id),
    network            TEXT    NOT NULL,
    target_external_id TEXT    NOT NULL CHECK (length(target_external_id) > 0),
    text               TEXT    NOT NULL,
    idempotency_key    TEXT    NOT NULL UNIQUE CHECK (length(idempotency_key) > 0),
    status             TEXT    NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    INTEGER NOT NULL,
    lease_until        INTEGER,
    last_error         TEXT,
    remote_id          TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    delivered_at       INTEGER
);
CREATE INDEX outbound_replies_due ON outbound_replies (status, next_attempt_at);
CREATE INDEX outbound_replies_message ON outbound_replies (message_id);
