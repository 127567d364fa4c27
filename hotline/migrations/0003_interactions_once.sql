-- Each node that watches the PBX records a finished call; the call's id (ref) makes the
-- customer's timeline keep it once, however many nodes or retries record it.
CREATE UNIQUE INDEX interactions_once ON interactions (customer_id, channel, ref) WHERE ref IS NOT NULL;
