-- Tickets: the service flow from intake to the customer's confirmation (owned by tickets/).

-- Who can take which work: skills are ticket categories, capacity is open tickets at once.
CREATE TABLE ticket_handlers (
    agent_id    bigint PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    department  text NOT NULL CHECK (department <> ''),
    skills      text[] NOT NULL DEFAULT '{}',
    capacity    integer NOT NULL CHECK (capacity BETWEEN 0 AND 1000)
);
CREATE INDEX ticket_handlers_skills ON ticket_handlers USING gin (skills);

CREATE TABLE tickets (
    id                  bigserial PRIMARY KEY,
    -- bumped by every change: a client that read version n and writes after someone else gets a conflict
    version             integer NOT NULL DEFAULT 1,
    status              text NOT NULL CHECK (status IN
                            ('new', 'assigned', 'in_progress', 'waiting', 'resolved', 'closed', 'reopened')),
    subject             text NOT NULL CHECK (subject <> ''),
    description         text NOT NULL DEFAULT '',
    category            text NOT NULL,
    channel             text NOT NULL CHECK (channel IN ('phone', 'portal', 'ivr', 'email', 'api')),
    priority            text NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    priority_rank       smallint NOT NULL,
    customer_id         bigint REFERENCES customers (id) ON DELETE SET NULL,
    -- the customer as they were at intake: work lists sort on it without another lookup
    customer_name       text NOT NULL DEFAULT '',
    customer_tier       text NOT NULL,
    tier_rank           smallint NOT NULL,
    top_tier            boolean NOT NULL,
    contact_email       text,
    contact_phone       text,
    call_id             text,
    assignee_id         bigint REFERENCES agents (id) ON DELETE SET NULL,
    department          text,
    created_by          bigint REFERENCES agents (id) ON DELETE SET NULL,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    first_response_due  timestamptz,
    resolution_due      timestamptz,
    first_responded_at  timestamptz,
    resolved_at         timestamptz,
    closed_at           timestamptz,
    -- set while waiting on the customer: the resolution clock does not run
    sla_paused_at       timestamptz,
    resolution          text,
    reopen_count        integer NOT NULL DEFAULT 0,
    -- only a SHA-256 of the customer's confirm link is kept
    confirm_token_hash  bytea UNIQUE,
    confirm_expires_at  timestamptz
);
-- Work lists: top-tier customers first, then priority, then the nearest deadline.
CREATE INDEX tickets_open_by_assignee ON tickets
    (assignee_id, top_tier DESC, tier_rank DESC, priority_rank DESC, resolution_due)
    WHERE status NOT IN ('resolved', 'closed');
CREATE INDEX tickets_open_queue ON tickets (top_tier DESC, tier_rank DESC, priority_rank DESC, resolution_due)
    WHERE status NOT IN ('resolved', 'closed');
CREATE INDEX tickets_customer ON tickets (customer_id, created_at DESC);
-- The escalation sweep reads running clocks by deadline.
CREATE INDEX tickets_resolution_due ON tickets (resolution_due)
    WHERE status NOT IN ('resolved', 'closed') AND sla_paused_at IS NULL;

-- Every transition and comment: who, when, from -> to, and the note.
CREATE TABLE ticket_events (
    id                bigserial PRIMARY KEY,
    ticket_id         bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    at                timestamptz NOT NULL,
    actor_kind        text NOT NULL CHECK (actor_kind IN ('agent', 'customer', 'system')),
    actor_id          bigint,
    action            text NOT NULL,
    from_status       text,
    to_status         text,
    -- the handler once this entry was written (reopen counts per handler read it)
    assignee_id       bigint,
    note              text NOT NULL DEFAULT '',
    customer_visible  boolean NOT NULL DEFAULT false
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, id);
CREATE INDEX ticket_events_outcomes ON ticket_events (at) WHERE action IN ('resolve', 'reopen');

-- Notices to customers (service completed, …), written in the same transaction as the change
-- that causes them and delivered afterwards; a failed delivery is retried, never dropped.
CREATE TABLE ticket_notices (
    id               bigserial PRIMARY KEY,
    ticket_id        bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind             text NOT NULL,
    channel          text NOT NULL,
    recipient        text NOT NULL,
    subject          text NOT NULL,
    body             text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    last_error       text,
    created_at       timestamptz NOT NULL,
    sent_at          timestamptz
);
CREATE INDEX ticket_notices_due ON ticket_notices (next_attempt_at) WHERE status = 'pending';
CREATE INDEX ticket_notices_ticket ON ticket_notices (ticket_id);
