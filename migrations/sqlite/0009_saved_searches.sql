-- Saved searches with e-mail alerts on spikes, SQLite flavour. Keep in step with
-- ../postgres/0009_saved_searches.sql: same columns, same names. Integers are INTEGER,
-- timestamps epoch milliseconds.

-- An analyst's saved archive search: the query text and facet filters (a JSON object
-- {"facet": ["value", …]}) of `otklik search`, whom to alert (e-mail) when the number of
-- matching documents today spikes against the trailing days: at least `min_count` today and
-- `(today + 1) / (mean + 1)` of at least `min_ratio_pct` / 100.
CREATE TABLE saved_searches (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE CHECK (length(name) > 0),
    query          TEXT    NOT NULL,
    filters        TEXT    NOT NULL DEFAULT '{}',
    owner_id       INTEGER REFERENCES users (id),
    email          TEXT    NOT NULL CHECK (length(email) > 0),
    min_count      INTEGER NOT NULL CHECK (min_count > 0),
    min_ratio_pct  INTEGER NOT NULL CHECK (min_ratio_pct >= 100),
    created_at     INTEGER NOT NULL,
    last_alert_at  INTEGER
);
