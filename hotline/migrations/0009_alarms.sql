-- Escalation alarms (owned by tickets/: escalation.py rules, escalation_store.py SQL).

-- The due work of the escalation sweep, one row per ticket: when to look at it next, how far it
-- climbed the ladder, and its acknowledgement or snooze. A claimed row's check_at is pushed out by
-- the lease, so a crashed sweeper's tickets come due again and a restart loses nothing.
CREATE TABLE ticket_escalations (
    ticket_id        bigint PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    check_at         timestamptz,
    level            smallint NOT NULL DEFAULT 0,
    level_at         timestamptz,
    breached_at      timestamptz,
    acknowledged_at  timestamptz,
    acknowledged_by  bigint REFERENCES agents (id) ON DELETE SET NULL,
    snoozed_until    timestamptz
);
CREATE INDEX ticket_escalations_due ON ticket_escalations (check_at) WHERE check_at IS NOT NULL;
-- Tickets from before this migration are looked at by the first sweep.
INSERT INTO ticket_escalations (ticket_id, check_at) SELECT id, updated_at FROM tickets WHERE status <> 'closed';
CREATE INDEX ticket_escalations_breached ON ticket_escalations (breached_at) WHERE breached_at IS NOT NULL;

-- Every change of a ticket's clocks makes it due for a look, in the same transaction as the change:
-- whichever code path wrote the ticket, the sweep cannot miss it.
CREATE FUNCTION ticket_escalation_recheck() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ticket_escalations (ticket_id, check_at) VALUES (NEW.id, NEW.updated_at)
    ON CONFLICT (ticket_id) DO UPDATE SET check_at = EXCLUDED.check_at;
    RETURN NULL;
END
$$;
CREATE TRIGGER tickets_escalation_opened AFTER INSERT ON tickets
    FOR EACH ROW EXECUTE FUNCTION ticket_escalation_recheck();
CREATE TRIGGER tickets_escalation_changed
    AFTER UPDATE OF status, department, assignee_id, first_response_due, resolution_due,
                    first_responded_at, sla_paused_at ON tickets
    FOR EACH ROW EXECUTE FUNCTION ticket_escalation_recheck();

-- Customers whose tickets and calls alert their account owner at once.
CREATE TABLE watched_customers (
    customer_id     bigint PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    owner_agent_id  bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    owner_email     text,
    note            text NOT NULL DEFAULT '',
    watched_by      bigint REFERENCES agents (id) ON DELETE SET NULL,
    watched_at      timestamptz NOT NULL
);

-- Every alarm raised, once: dedupe_key names the step ("ticket:7:level:2"), so two sweepers
-- racing on one ticket store (and send) it once.
CREATE TABLE alerts (
    id               bigserial PRIMARY KEY,
    dedupe_key       text NOT NULL UNIQUE,
    kind             text NOT NULL CHECK (kind IN
                         ('warning', 'breach', 'overdue', 'escalation', 'customer_ticket', 'customer_calls')),
    title            text NOT NULL,
    ticket_id        bigint REFERENCES tickets (id) ON DELETE CASCADE,
    customer_id      bigint REFERENCES customers (id) ON DELETE SET NULL,
    level            smallint NOT NULL DEFAULT 0,
    role             text,
    recipient_name   text,
    -- the account the alert is addressed to (an agent sees only these; supervisors see all)
    agent_id         bigint REFERENCES agents (id) ON DELETE SET NULL,
    raised_at        timestamptz NOT NULL,
    acknowledged_at  timestamptz,
    acknowledged_by  bigint REFERENCES agents (id) ON DELETE SET NULL,
    snoozed_until    timestamptz
);
CREATE INDEX alerts_recent ON alerts (raised_at DESC);
CREATE INDEX alerts_agent ON alerts (agent_id, raised_at DESC) WHERE agent_id IS NOT NULL;
CREATE INDEX alerts_ticket ON alerts (ticket_id) WHERE ticket_id IS NOT NULL;

-- One row per channel of an alert: its delivery status; a failure is retried with backoff and
-- finally shown as failed, never dropped.
CREATE TABLE alert_deliveries (
    id               bigserial PRIMARY KEY,
    alert_id         bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    channel          text NOT NULL CHECK (channel IN ('live', 'email', 'webhook')),
    recipient        text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    last_error       text,
    sent_at          timestamptz,
    UNIQUE (alert_id, channel, recipient)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at) WHERE status = 'pending';
