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
    created_at  BIGINT NOT NULL
);
CREATE INDEX engineer_ssh_keys_by_user ON engineer_ssh_keys (user_id, created_at);

CREATE TABLE broker_host_key (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    -- The OpenSSH private key, sealed with the data key.
    sealed_key BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- 'broker' (recorded first-hand) or 'reported' (posted through the provider API).
ALTER TABLE sessions ADD COLUMN source TEXT NOT NULL DEFAULT 'reported';

-- Live broker sessions on every instance are cut when access ends: an authorization
-- leaving `authorized` or a user being disabled notifies the listening instances.
CREATE FUNCTION support_access_notify_access() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('support_access_access', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER authorizations_access_ended AFTER UPDATE OF status ON authorizations
    FOR EACH ROW WHEN (OLD.status = 1 AND NEW.status <> 1)
    EXECUTE FUNCTION support_access_notify_access();
CREATE TRIGGER users_disabled AFTER UPDATE OF enabled ON users
    FOR EACH ROW WHEN (OLD.enabled AND NOT NEW.enabled)
    EXECUTE FUNCTION support_access_notify_access();
