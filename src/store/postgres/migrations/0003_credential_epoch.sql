-- A counter that moves whenever a credential may have lost its power: a user, domain,
-- token or access key updated or deleted, by this instance or any other. Servers cache
-- credentials and drop the cache when it moves. Inserts need no bump: a credential the
-- cache has not seen is looked up anyway.

CREATE TABLE credential_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO credential_epoch (id, value) VALUES (1, 0);

CREATE FUNCTION bump_credential_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE credential_epoch SET value = value + 1 WHERE id = 1;
    RETURN NULL;
END $$;

CREATE TRIGGER credential_epoch_users AFTER UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION bump_credential_epoch();
CREATE TRIGGER credential_epoch_domains AFTER UPDATE OR DELETE ON domains
    FOR EACH STATEMENT EXECUTE FUNCTION bump_credential_epoch();
CREATE TRIGGER credential_epoch_tokens AFTER UPDATE OR DELETE ON tokens
    FOR EACH STATEMENT EXECUTE FUNCTION bump_credential_epoch();
CREATE TRIGGER credential_epoch_access_keys AFTER UPDATE OR DELETE ON access_keys
    FOR EACH STATEMENT EXECUTE FUNCTION bump_credential_epoch();
