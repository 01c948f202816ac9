-- Access keys for SDK-HMAC-SHA256 request signing. The secret key is sealed under the
-- data key; a temporary key also has an expiry and the SHA-256 of its security token.

CREATE TABLE access_keys (
    access_key          TEXT PRIMARY KEY,
    user_id             TEXT NOT NULL REFERENCES users(id),
    secret_ciphertext   BLOB NOT NULL,
    enabled             INTEGER NOT NULL DEFAULT 1,
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER,
    security_token_hash BLOB
);
CREATE INDEX access_keys_by_user ON access_keys (user_id, created_at);
