-- How many authorizations each (domain, submitter, status) holds, kept by triggers in
-- the same transaction as the rows. A customer list's total, filtered by status at
-- most, is then a sum over a few of these rows instead of a count of every matching
-- index entry (tens of thousands for a big tenant's "pending" tab).

CREATE TABLE authorization_counts (
    customer_id   TEXT NOT NULL,
    x_customer_id TEXT NOT NULL,
    status        BIGINT NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (customer_id, x_customer_id, status)
);

INSERT INTO authorization_counts (customer_id, x_customer_id, status, n)
SELECT customer_id, x_customer_id, status, COUNT(*) FROM authorizations GROUP BY 1, 2, 3;

CREATE FUNCTION count_authorizations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE authorization_counts SET n = n - 1
        WHERE customer_id = OLD.customer_id AND x_customer_id = OLD.x_customer_id
          AND status = OLD.status;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO authorization_counts (customer_id, x_customer_id, status, n)
        VALUES (NEW.customer_id, NEW.x_customer_id, NEW.status, 1)
        ON CONFLICT (customer_id, x_customer_id, status) DO UPDATE
            SET n = authorization_counts.n + 1;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER authorization_counts_insert_delete AFTER INSERT OR DELETE ON authorizations
    FOR EACH ROW EXECUTE FUNCTION count_authorizations();
CREATE TRIGGER authorization_counts_update
    AFTER UPDATE OF customer_id, x_customer_id, status ON authorizations
    FOR EACH ROW
    WHEN (OLD.customer_id IS DISTINCT FROM NEW.customer_id
          OR OLD.x_customer_id IS DISTINCT FROM NEW.x_customer_id
          OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION count_authorizations();
