-- A contact address per user, set by `admin user update --email`.
ALTER TABLE users ADD COLUMN email TEXT;
-- Reading one chain's events by time (`audit list --since`, GET /customer/v1/audit-events).
CREATE INDEX audit_events_by_time ON audit_events (domain_id, at);
