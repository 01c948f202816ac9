-- Terminal recordings of interactive broker sessions: asciicast v2, zstd-compressed,
-- one row per chunk so that no session is ever held whole in memory.
CREATE TABLE session_recordings (
    session_id  BIGINT PRIMARY KEY REFERENCES sessions (id),
    started_at  BIGINT NOT NULL,
    -- The last chunk written, or the end: retention counts from here.
    updated_at  BIGINT NOT NULL,
    ended_at    BIGINT,
    -- Uncompressed asciicast bytes stored so far.
    size_bytes  BIGINT NOT NULL,
    chunks      BIGINT NOT NULL,
    -- SHA-256 (hex) of the whole uncompressed asciicast, set at the end; it is also in
    -- the audit event that closed the session, which outlives the chunks.
    sha256      TEXT,
    -- When the retention sweep dropped the chunks.
    purged_at   BIGINT
);
CREATE INDEX session_recordings_retention ON session_recordings (updated_at)
    WHERE purged_at IS NULL;

CREATE TABLE session_recording_chunks (
    session_id BIGINT NOT NULL REFERENCES session_recordings (session_id),
    seq        BIGINT NOT NULL,
    -- One zstd frame.
    data       BYTEA NOT NULL,
    PRIMARY KEY (session_id, seq)
);

-- A customer's request to end one live session; the instance holding it cuts it.
ALTER TABLE sessions ADD COLUMN terminate_requested_at BIGINT;
ALTER TABLE sessions ADD COLUMN terminate_reason TEXT;

-- session.closed carries why the session ended and its recording's hash.
ALTER TABLE outbox_events ADD COLUMN close_reason TEXT;
ALTER TABLE outbox_events ADD COLUMN sha256 TEXT;

-- A terminate made through any instance wakes the broker watchers of all of them.
CREATE TRIGGER sessions_terminate_requested AFTER UPDATE OF terminate_requested_at ON sessions
    FOR EACH ROW WHEN (OLD.terminate_requested_at IS NULL AND NEW.terminate_requested_at IS NOT NULL)
    EXECUTE FUNCTION support_access_notify_access();
