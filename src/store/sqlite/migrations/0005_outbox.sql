-- The notification outbox: one row per event, written in the same transaction as the
-- change it reports. `id` orders events and names them (`evt_<id>`, the webhook-id).
-- Ids and statuses only: receivers fetch details through the API. Ids are not handed
-- out in commit order (on PostgreSQL a later id may commit first), so the delivery
-- worker does not follow a cursor: it takes the events not yet dispatched.

CREATE TABLE outbox_events (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    type             TEXT NOT NULL,
    customer_id      TEXT NOT NULL,
    authorization_id INTEGER,
    status           INTEGER,
    actor_id         TEXT NOT NULL,
    session_id       INTEGER,
    created_at       INTEGER NOT NULL,
    dispatched_at    INTEGER
);
CREATE INDEX outbox_events_undispatched ON outbox_events (id) WHERE dispatched_at IS NULL;
CREATE INDEX outbox_events_authorization ON outbox_events (authorization_id, id);
