-- Administration in the back-office and fast message lists (issue 6), SQLite flavour. Keep in
-- step with ../postgres/0011_admin_and_queues.sql: same columns, same names.

-- A blocked staff account cannot sign in (its sessions end when it is blocked); NULL: active.
ALTER TABLE users ADD COLUMN blocked_at INTEGER;

-- An organisation's contacts, edited by its administrators in the back-office (directory
-- imports leave them alone).
ALTER TABLE organisations ADD COLUMN contact_email TEXT;
ALTER TABLE organisations ADD COLUMN contact_phone TEXT;
ALTER TABLE organisations ADD COLUMN contact_address TEXT;

-- Work queues page by (deadline_at, id) with keyset cursors: one ordered range per status, per
-- (status, channel) for the social-network incidents, and per (executor, status). The last one
-- replaces messages_executor (executor_id, status), a prefix of it.
CREATE INDEX messages_queue_status ON messages (status, deadline_at, id);
CREATE INDEX messages_queue_channel ON messages (status, channel, deadline_at, id);
DROP INDEX messages_executor;
CREATE INDEX messages_queue_executor ON messages (executor_id, status, deadline_at, id);
