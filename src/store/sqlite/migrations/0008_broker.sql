-- The SSH broker: engineers' public keys, the broker's sealed host key, and where each
-- session record came from.
CREATE TABLE engineer_ssh_keys (
    -- OpenSSH SHA256 fingerprint: one key identifies one engineer.
    fingerprint TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    algorithm   TEXT NOT NULL,
    -- The key as an OpenSSH line (public, not a secret).
    public_key  TEXT NOT NULL,
    comment     TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX engineer_ssh_keys_by_user ON engineer_ssh_keys (user_id, created_at);

CREATE TABLE broker_host_key (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    -- The OpenSSH private key, sealed with the data key.
    sealed_key BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

-- 'broker' (recorded first-hand) or 'reported' (posted through the provider API).
ALTER TABLE sessions ADD COLUMN source TEXT NOT NULL DEFAULT 'reported';
