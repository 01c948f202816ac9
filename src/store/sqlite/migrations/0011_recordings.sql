-- Terminal recordings of interactive broker sessions: asciicast v2, zstd-compressed,
-- one row per chunk so that no session is ever held whole in memory.
CREATE TABLE session_recordings (
    session_id  INTEGER PRIMARY KEY REFERENCES sessions (id),
    started_at  INTEGER NOT NULL,
    -- The last chunk written, or the end: retention counts from here.
    updated_at  INTEGER NOT NULL,
    ended_at    INTEGER,
    -- Uncompressed asciicast bytes stored so far.
    size_bytes  INTEGER NOT NULL,
    chunks      INTEGER NOT NULL,
    -- SHA-256 (hex) of the whole uncompressed asciicast, set at the end; it is also in
    -- the audit event that closed the session, which outlives the chunks.
    sha256      TEXT,
    -- When the retention sweep dropped the chunks.
    purged_at   INTEGER
);
CREATE INDEX session_recordings_retention ON session_recordings (updated_at)
    WHERE purged_at IS NULL;

CREATE TABLE session_recording_chunks (
    session_id INTEGER NOT NULL REFERENCES session_recordings (session_id),
    seq        INTEGER NOT NULL,
    -- One zstd frame.
    data       BLOB NOT NULL,
    PRIMARY KEY (session_id, seq)
);

-- A customer's request to end one live session; the instance holding it cuts it.
ALTER TABLE sessions ADD COLUMN terminate_requested_at INTEGER;
ALTER TABLE sessions ADD COLUMN terminate_reason TEXT;

-- session.closed carries why the session ended and its recording's hash.
ALTER TABLE outbox_events ADD COLUMN close_reason TEXT;
ALTER TABLE outbox_events ADD COLUMN sha256 TEXT;
