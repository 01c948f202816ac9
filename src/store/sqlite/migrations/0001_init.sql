-- support-access schema, version 1. Times are epoch milliseconds (UTC).

CREATE TABLE domains (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    is_provider INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id                TEXT PRIMARY KEY,
    domain_id         TEXT NOT NULL REFERENCES domains(id),
    name              TEXT NOT NULL,
    password_hash     TEXT NOT NULL,
    is_admin          INTEGER NOT NULL DEFAULT 0,
    is_engineer       INTEGER NOT NULL DEFAULT 0,
    is_provider_admin INTEGER NOT NULL DEFAULT 0,
    enabled           INTEGER NOT NULL DEFAULT 1,
    created_at        INTEGER NOT NULL,
    UNIQUE (domain_id, name)
);

CREATE TABLE user_groups (
    id          TEXT PRIMARY KEY,
    domain_id   TEXT NOT NULL REFERENCES domains(id),
    name        TEXT NOT NULL,
    is_operator INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    UNIQUE (domain_id, name)
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES user_groups(id),
    user_id  TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_by_user ON group_members (user_id);

-- Only SHA-256 hashes of tokens are stored.
CREATE TABLE tokens (
    hash       BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX tokens_by_expiry ON tokens (expires_at);

-- The data key that encrypts secrets, wrapped by the master key (one row).
CREATE TABLE keyring (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    wrapped_key BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE authorizations (
    id                     INTEGER PRIMARY KEY,
    customer_id            TEXT NOT NULL REFERENCES domains(id),
    x_customer_id          TEXT NOT NULL,
    xcustomer_name         TEXT NOT NULL,
    incident_id            TEXT NOT NULL,
    simple_description     TEXT NOT NULL,
    auth_describe          TEXT NOT NULL,
    resource_type_id       TEXT NOT NULL,
    visit_type_id          TEXT NOT NULL,
    content_type_id        TEXT NOT NULL,
    content_of_auth_letter TEXT NOT NULL,
    status                 INTEGER NOT NULL,
    site                   INTEGER NOT NULL DEFAULT 0,
    created_at             INTEGER NOT NULL,
    pending_deadline       INTEGER NOT NULL,
    requested_effective_at INTEGER,
    requested_expire_at    INTEGER,
    effective_at           INTEGER,
    expire_at              INTEGER,
    reject_reason          TEXT,
    handler_name           TEXT,
    agency_id              TEXT,
    raised_by              TEXT NOT NULL,
    raised_by_name         TEXT NOT NULL,
    updated_at             INTEGER NOT NULL
);
-- One index per way the lists are scoped; each ends in the sort key.
CREATE INDEX authorizations_by_domain ON authorizations (customer_id, created_at DESC, id DESC);
CREATE INDEX authorizations_by_domain_status ON authorizations (customer_id, status, created_at DESC, id DESC);
CREATE INDEX authorizations_by_submitter ON authorizations (customer_id, x_customer_id, created_at DESC, id DESC);
CREATE INDEX authorizations_by_raiser ON authorizations (raised_by, created_at DESC, id DESC);
CREATE INDEX authorizations_pending_due ON authorizations (pending_deadline) WHERE status = 0;
CREATE INDEX authorizations_window_due ON authorizations (expire_at) WHERE status = 1;

CREATE TABLE authorization_details (
    id                  INTEGER PRIMARY KEY,
    authorization_id    INTEGER NOT NULL REFERENCES authorizations(id),
    position            INTEGER NOT NULL,
    type                INTEGER NOT NULL,
    instance_id         TEXT NOT NULL,
    instance_name       TEXT NOT NULL,
    region_id           TEXT NOT NULL,
    host                TEXT,
    requested_port      INTEGER,
    granted_port        INTEGER,
    account             TEXT,
    -- AES-256-GCM under the data key; NULL once purged.
    password_ciphertext BLOB,
    host_key_fingerprint TEXT
);
CREATE INDEX authorization_details_by_authorization ON authorization_details (authorization_id, position);

CREATE TABLE sessions (
    id               INTEGER PRIMARY KEY,
    authorization_id INTEGER NOT NULL REFERENCES authorizations(id),
    detail_id        INTEGER NOT NULL REFERENCES authorization_details(id),
    engineer_id      TEXT NOT NULL,
    started_at       INTEGER NOT NULL,
    ended_at         INTEGER
);
CREATE INDEX sessions_by_detail ON sessions (detail_id, started_at DESC, id DESC);
CREATE INDEX sessions_open ON sessions (authorization_id) WHERE ended_at IS NULL;

CREATE TABLE session_operations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id   INTEGER NOT NULL REFERENCES sessions(id),
    oper         TEXT NOT NULL,
    operate_time INTEGER NOT NULL
);
CREATE INDEX session_operations_by_time ON session_operations (session_id, operate_time, id);

CREATE TABLE session_file_transfers (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id      INTEGER NOT NULL REFERENCES sessions(id),
    operate_type    TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    from_path       TEXT NOT NULL,
    to_path         TEXT NOT NULL,
    file_size_bytes INTEGER NOT NULL,
    duration_ms     INTEGER NOT NULL,
    oper_result     TEXT NOT NULL,
    operate_time    INTEGER NOT NULL
);
CREATE INDEX session_file_transfers_by_time ON session_file_transfers (session_id, operate_time, id);

-- Hash-chained per domain: each event stores the hash of the one before it.
CREATE TABLE audit_events (
    domain_id        TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    at               INTEGER NOT NULL,
    authorization_id INTEGER,
    actor_id         TEXT NOT NULL,
    actor_name       TEXT NOT NULL,
    kind             TEXT NOT NULL,
    from_status      INTEGER,
    to_status        INTEGER,
    reason           TEXT,
    note             TEXT NOT NULL,
    prev_hash        BLOB NOT NULL,
    hash             BLOB NOT NULL,
    PRIMARY KEY (domain_id, seq)
);
CREATE INDEX audit_events_by_authorization ON audit_events (authorization_id);

CREATE TABLE audit_heads (
    domain_id TEXT PRIMARY KEY,
    seq       INTEGER NOT NULL,
    hash      BLOB NOT NULL
);
