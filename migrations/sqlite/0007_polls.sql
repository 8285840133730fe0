-- Polls (issue 7), SQLite flavour. Keep in step with ../postgres/0007_polls.sql: same columns,
-- same names, same defaults. Timestamps are epoch milliseconds, flags 0/1, JSON as text.
-- Citizens appear only as keyed hashes (HMAC-SHA256 with the server's key, per poll): no raw
-- identity and no IP address is ever stored here.

-- The poll definition beside the 0001 columns. One ALTER per column.
ALTER TABLE polls ADD COLUMN description TEXT NOT NULL DEFAULT '';
-- A code of rules/poll-topics.toml.
ALTER TABLE polls ADD COLUMN topic TEXT;
ALTER TABLE polls ADD COLUMN min_age INTEGER;
-- Multiple choice, ranking and budget: how many options a ballot picks (NULL = the kind's default).
ALTER TABLE polls ADD COLUMN min_choices INTEGER;
ALTER TABLE polls ADD COLUMN max_choices INTEGER;
-- Budget allocation: the sum of the chosen projects' costs may not exceed it (roubles).
ALTER TABLE polls ADD COLUMN budget_cap INTEGER;
-- Free text: longest answer, in characters.
ALTER TABLE polls ADD COLUMN max_text_chars INTEGER;
ALTER TABLE polls ADD COLUMN allow_revote INTEGER NOT NULL DEFAULT 0 CHECK (allow_revote IN (0, 1));
ALTER TABLE polls ADD COLUMN results_visibility TEXT NOT NULL DEFAULT 'live'
    CHECK (results_visibility IN ('live', 'after_close'));
-- Presentation settings for the web layer and the widget (a JSON object).
ALTER TABLE polls ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
-- Life cycle: who created it, when it went to moderation, the moderator's decision, publication.
ALTER TABLE polls ADD COLUMN created_by INTEGER REFERENCES users (id);
ALTER TABLE polls ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE polls ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE polls ADD COLUMN submitted_at INTEGER;
ALTER TABLE polls ADD COLUMN reviewed_by INTEGER REFERENCES users (id);
ALTER TABLE polls ADD COLUMN reviewed_at INTEGER;
ALTER TABLE polls ADD COLUMN review_note TEXT;
ALTER TABLE polls ADD COLUMN published_at INTEGER;
ALTER TABLE polls ADD COLUMN closed_at INTEGER;
CREATE INDEX polls_status ON polls (status, ends_at);

-- Answer options in display order: choices, ranked items, budget projects (with their cost).
CREATE TABLE poll_options (
    id          INTEGER PRIMARY KEY,
    poll_id     INTEGER NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    label       TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    cost        INTEGER,
    UNIQUE (poll_id, position)
);

-- One ballot per identity per poll; a re-vote rewrites it in place (revision + 1).
-- territory_id is the voter's territory as the identity provider gave it (no foreign key:
-- an unknown code must not fail a vote of a poll without a territorial audience).
CREATE TABLE poll_ballots (
    id           INTEGER PRIMARY KEY,
    poll_id      INTEGER NOT NULL REFERENCES polls (id),
    voter_hash   TEXT    NOT NULL CHECK (length(voter_hash) = 64),
    territory_id INTEGER,
    revision     INTEGER NOT NULL,
    free_text    TEXT,
    total_cost   INTEGER,
    cast_at      INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (poll_id, voter_hash)
);

-- The options a ballot picks; rank is 1-based for ranking polls, NULL otherwise.
CREATE TABLE poll_ballot_choices (
    ballot_id INTEGER NOT NULL REFERENCES poll_ballots (id) ON DELETE CASCADE,
    poll_id   INTEGER NOT NULL,
    option_id INTEGER NOT NULL REFERENCES poll_options (id),
    rank      INTEGER,
    PRIMARY KEY (ballot_id, option_id)
);
CREATE INDEX poll_ballot_choices_option ON poll_ballot_choices (poll_id, option_id);

-- Every accepted vote (first votes and re-votes): the idempotency keys and the material of the
-- anomaly report. network_hash is a keyed hash of the client's /24 (IPv4) or /48 (IPv6) prefix.
CREATE TABLE poll_votes (
    id              INTEGER PRIMARY KEY,
    poll_id         INTEGER NOT NULL REFERENCES polls (id),
    voter_hash      TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    payload_hash    TEXT    NOT NULL,
    ballot_id       INTEGER NOT NULL REFERENCES poll_ballots (id),
    revision        INTEGER NOT NULL,
    network_hash    TEXT,
    territory_id    INTEGER,
    at              INTEGER NOT NULL,
    UNIQUE (poll_id, voter_hash, idempotency_key)
);
CREATE INDEX poll_votes_at ON poll_votes (poll_id, at);
