-- A counter that moves whenever a credential may have lost its power: a user, domain,
-- token or access key updated or deleted, by this process or any other (the admin CLI,
-- a second instance). Servers cache credentials and drop the cache when it moves.
-- Inserts need no bump: a credential the cache has not seen is looked up anyway.

CREATE TABLE credential_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO credential_epoch (id, value) VALUES (1, 0);

CREATE TRIGGER credential_epoch_users_update AFTER UPDATE ON users
BEGIN UPDATE credential_epoch SET value = value + 1; END;
CREATE TRIGGER credential_epoch_users_delete AFTER DELETE ON users
BEGIN UPDATE credential_epoch SET value = value + 1; END;
CREATE TRIGGER credential_epoch_domains_update AFTER UPDATE ON domains
BEGIN UPDATE credential_epoch SET value = value + 1; END;
CREATE TRIGGER credential_epoch_domains_delete AFTER DELETE ON domains
BEGIN UPDATE credential_epoch SET value = value + 1; END;
CREATE TRIGGER credential_epoch_tokens_update AFTER UPDATE ON tokens
BEGIN UPDATE credential_epoch SET value = value + 1; END;
CREATE TRIGGER credential_epoch_tokens_delete AFTER DELETE ON tokens
BEGIN UPDATE credential_epoch SET value = value + 1; END;
CREATE TRIGGER credential_epoch_access_keys_update AFTER UPDATE ON access_keys
BEGIN UPDATE credential_epoch SET value = value + 1; END;
CREATE TRIGGER credential_epoch_access_keys_delete AFTER DELETE ON access_keys
BEGIN UPDATE credential_epoch SET value = value + 1; END;
