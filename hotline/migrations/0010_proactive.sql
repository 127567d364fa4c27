-- Proactive service: special-day greetings and promised callbacks.

-- Special days of a customer (owned by customers/): the birthday exists; the anniversary is the
-- day they became a customer, and a customer may ask not to be greeted at all.
ALTER TABLE customers
    ADD COLUMN anniversary        date,
    ADD COLUMN greetings_opt_out  boolean NOT NULL DEFAULT false;
-- The daily greeting job asks "whose day is today": month*100+day is immutable, so indexable.
CREATE INDEX customers_birthday_day ON customers
    ((EXTRACT(MONTH FROM birthday) * 100 + EXTRACT(DAY FROM birthday))) WHERE birthday IS NOT NULL;
CREATE INDEX customers_anniversary_day ON customers
    ((EXTRACT(MONTH FROM anniversary) * 100 + EXTRACT(DAY FROM anniversary))) WHERE anniversary IS NOT NULL;

-- The outbox (owned by tickets/) also carries notices about a customer rather than a ticket.
ALTER TABLE ticket_notices
    ALTER COLUMN ticket_id DROP NOT NULL,
    ADD COLUMN customer_id    bigint REFERENCES customers (id) ON DELETE CASCADE,
    -- the year a greeting is for: with the kind, at most one greeting per customer per occasion per year
    ADD COLUMN greeting_year  integer,
    ADD CONSTRAINT ticket_notices_about CHECK (ticket_id IS NOT NULL OR customer_id IS NOT NULL);
CREATE UNIQUE INDEX ticket_notices_greeting_once ON ticket_notices (customer_id, kind, greeting_year)
    WHERE greeting_year IS NOT NULL;

-- Promised callbacks (owned by cti/): due rows claimed with FOR UPDATE SKIP LOCKED and a lease.
CREATE TABLE callbacks (
    id             bigserial PRIMARY KEY,
    customer_id    bigint REFERENCES customers (id) ON DELETE SET NULL,
    customer_name  text NOT NULL DEFAULT '',
    phone          text NOT NULL CHECK (phone ~ '^\+?[0-9]{3,20}$'),
    due_at         timestamptz NOT NULL,
    note           text NOT NULL DEFAULT '',
    -- who asked: 'agent' (promised on a call), 'ivr' (the caller pressed a key), 'api'
    requested_by   text NOT NULL,
    -- the agent who promised it (None: the team's)
    agent_id       bigint REFERENCES agents (id) ON DELETE SET NULL,
    status         text NOT NULL DEFAULT 'scheduled'
                       CHECK (status IN ('scheduled', 'offered', 'done', 'cancelled')),
    lease_until    timestamptz,
    attempts       integer NOT NULL DEFAULT 0,
    -- the agents it popped for; to_team says it went to the team because its agent was away
    offered_to     bigint[] NOT NULL DEFAULT '{}',
    to_team        boolean NOT NULL DEFAULT false,
    offered_at     timestamptz,
    done_by        bigint REFERENCES agents (id) ON DELETE SET NULL,
    done_at        timestamptz,
    created_at     timestamptz NOT NULL
);
CREATE INDEX callbacks_due ON callbacks (due_at) WHERE status = 'scheduled';
CREATE INDEX callbacks_open ON callbacks (due_at) WHERE status IN ('scheduled', 'offered');

-- Service reports read tickets by intake time and by resolution time.
CREATE INDEX tickets_created ON tickets (created_at);
CREATE INDEX tickets_resolved ON tickets (resolved_at) WHERE resolved_at IS NOT NULL;
