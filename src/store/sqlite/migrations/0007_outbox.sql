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

-- Webhook subscriptions: a customer domain's (owner = its id) or the provider's
-- (owner = 'provider'). Secrets are sealed with the service's cipher; during a
-- rotation the previous one signs too, until `previous_secret_until`.
CREATE TABLE webhook_subscriptions (
    id                          TEXT PRIMARY KEY,
    owner                       TEXT NOT NULL,
    url                         TEXT NOT NULL,
    events                      TEXT NOT NULL,
    secret_ciphertext           BLOB NOT NULL,
    previous_secret_ciphertext  BLOB,
    previous_secret_until       INTEGER,
    enabled                     INTEGER NOT NULL,
    created_at                  INTEGER NOT NULL
);
CREATE INDEX webhook_subscriptions_owner ON webhook_subscriptions (owner);

-- One row per (subscription, event): its delivery state. state 0 = to deliver (at
-- `next_attempt_at`, which a claim also moves forward as its lease), 1 = delivered,
-- 2 = dead-lettered. Per subscription and authorization only the oldest undelivered
-- event is ever in flight, so receivers see each authorization's events in order.
CREATE TABLE webhook_deliveries (
    subscription_id  TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_id         INTEGER NOT NULL REFERENCES outbox_events (id),
    authorization_id INTEGER,
    state            INTEGER NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    last_status      INTEGER,
    last_error       TEXT,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 0;
CREATE INDEX webhook_deliveries_order
    ON webhook_deliveries (subscription_id, authorization_id, event_id) WHERE state = 0;
