-- E-mail, reminders, disabling failing subscriptions (issue 13, the second half).

-- A user's language for e-mail (`en-us`, `zh-cn`); none: the service's default_language.
ALTER TABLE users ADD COLUMN language TEXT;

-- When a subscription's deliveries started failing without a success since; a
-- subscription failing for 5 days is disabled.
ALTER TABLE webhook_subscriptions ADD COLUMN failing_since BIGINT;

-- When the e-mail channel addressed the event (its recipients written below); NULL: not
-- yet. Addressing happens once: the update is conditional on NULL.
ALTER TABLE outbox_events ADD COLUMN emailed_at BIGINT;
-- The subscription a `webhook.disabled` event is about.
ALTER TABLE outbox_events ADD COLUMN webhook_id TEXT;
CREATE INDEX outbox_events_unemailed ON outbox_events (id) WHERE emailed_at IS NULL;

-- One row per (event, recipient): the e-mail channel's delivery state, with the same
-- discipline as webhook_deliveries (state 0 = to send at `next_attempt_at`, also the
-- claim's lease; 1 = sent; 2 = dead-lettered).
CREATE TABLE email_deliveries (
    event_id         BIGINT NOT NULL REFERENCES outbox_events (id),
    user_id          TEXT NOT NULL,
    address          TEXT NOT NULL,
    language         TEXT NOT NULL,
    state            BIGINT NOT NULL,
    attempts         BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    last_error       TEXT,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (event_id, user_id)
);
CREATE INDEX email_deliveries_due ON email_deliveries (next_attempt_at) WHERE state = 0;

-- Reminders scheduled when a request is raised or confirmed. `sent_at` is the "sent"
-- marker: the sweeper sets it (conditionally on NULL) and appends the reminder's
-- outbox event in one transaction, so each reminder is written once, by one instance.
-- A reminder is sent only while its authorization is still in `status`.
CREATE TABLE reminders (
    authorization_id BIGINT NOT NULL,
    kind             TEXT NOT NULL,
    status           BIGINT NOT NULL,
    due_at           BIGINT NOT NULL,
    sent_at          BIGINT,
    PRIMARY KEY (authorization_id, kind)
);
CREATE INDEX reminders_due ON reminders (due_at) WHERE sent_at IS NULL;

-- Pruning finds old delivered rows by time.
CREATE INDEX webhook_deliveries_done ON webhook_deliveries (updated_at) WHERE state <> 0;
CREATE INDEX email_deliveries_done ON email_deliveries (updated_at) WHERE state <> 0;
CREATE INDEX outbox_events_by_time ON outbox_events (created_at);
