-- Signatures of state-changing signed requests already accepted, kept until no request
-- with that signature could pass the ±15-minute date check again.
CREATE TABLE used_signatures (
    signature  TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX used_signatures_by_expiry ON used_signatures (expires_at);
