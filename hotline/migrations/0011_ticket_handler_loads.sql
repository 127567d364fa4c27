-- Each agent's open tickets, kept by triggers in the same transaction as the change (owned by
-- tickets/): assignment reads one row per handler instead of counting tickets on every intake.
-- An assignment locks the load row of the handler it gives work to; that serialises assignments to
-- one person, and a locked row's count is the current one, so capacity is never overbooked.
CREATE TABLE ticket_handler_loads (
    agent_id    bigint PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    open_count  integer NOT NULL DEFAULT 0
);
INSERT INTO ticket_handler_loads (agent_id, open_count)
SELECT agent_id, sum(n)
FROM (
    SELECT agent_id, 0 AS n FROM ticket_handlers
    UNION ALL
    SELECT assignee_id, 1 FROM tickets WHERE assignee_id IS NOT NULL AND status NOT IN ('resolved', 'closed')
) AS counted
GROUP BY agent_id;

-- A ticket counts for its handler while it is open. When it moves from one handler to another, the
-- lower agent id's row is written first, as the assignment paths lock them, so two reassignments
-- cannot wait for each other.
CREATE FUNCTION ticket_handler_load_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was bigint;
    now_counts bigint;
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.status NOT IN ('resolved', 'closed') THEN
        was := OLD.assignee_id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status NOT IN ('resolved', 'closed') THEN
        now_counts := NEW.assignee_id;
    END IF;
    IF was IS NOT DISTINCT FROM now_counts THEN
        RETURN NULL;
    END IF;
    IF was IS NOT NULL AND (now_counts IS NULL OR was < now_counts) THEN
        UPDATE ticket_handler_loads SET open_count = open_count - 1 WHERE agent_id = was;
        was := NULL;
    END IF;
    IF now_counts IS NOT NULL THEN
        INSERT INTO ticket_handler_loads AS l (agent_id, open_count) VALUES (now_counts, 1)
        ON CONFLICT (agent_id) DO UPDATE SET open_count = l.open_count + 1;
    END IF;
    IF was IS NOT NULL THEN
        UPDATE ticket_handler_loads SET open_count = open_count - 1 WHERE agent_id = was;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tickets_handler_load AFTER INSERT OR DELETE OR UPDATE OF status, assignee_id ON tickets
    FOR EACH ROW EXECUTE FUNCTION ticket_handler_load_changed();

-- Every handler has a row to lock, from the moment the profile exists.
CREATE FUNCTION ticket_handler_load_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ticket_handler_loads (agent_id) VALUES (NEW.agent_id) ON CONFLICT (agent_id) DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER ticket_handlers_load_row AFTER INSERT ON ticket_handlers
    FOR EACH ROW EXECUTE FUNCTION ticket_handler_load_row();
