-- Idempotency-Key on the provider's writes: the first successful answer to a key, kept
-- for a day so that a client's retry gets it again instead of writing twice. The key is
-- claimed (status NULL) before the write runs; the primary key lets one claim win.
CREATE TABLE idempotency_keys (
    principal   TEXT NOT NULL,
    idem_key    TEXT NOT NULL,
    -- SHA-256 of the method, path, query and body: a reuse with another request is refused.
    fingerprint BLOB NOT NULL,
    status      INTEGER,
    body        BLOB,
    claimed_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (principal, idem_key)
);
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
