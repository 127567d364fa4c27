-- Outbound campaigns, their leads, every dial attempt and the do-not-call lists (owned by cti/).
CREATE TABLE campaigns (
    id                    bigserial PRIMARY KEY,
    name                  text NOT NULL UNIQUE,
    queue                 text NOT NULL,
    dial_method           text NOT NULL CHECK (dial_method IN ('preview', 'progressive', 'predictive')),
    state                 text NOT NULL DEFAULT 'paused' CHECK (state IN ('running', 'paused', 'stopped')),
    caller_id             text NOT NULL,
    script                text NOT NULL DEFAULT '',
    window_start          time NOT NULL,
    window_end            time NOT NULL,
    max_attempts          integer NOT NULL,
    retry_busy_s          integer NOT NULL,
    retry_no_answer_s     integer NOT NULL,
    retry_failed_s        integer NOT NULL,
    retry_machine_s       integer NOT NULL,
    sales                 boolean NOT NULL DEFAULT true,
    dial_context          text NOT NULL,
    drop_action           text NOT NULL CHECK (drop_action IN ('hangup', 'message')),
    drop_message_context  text NOT NULL,
    abandon_cap           double precision NOT NULL,
    dial_timeout_s        integer NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now()
);

-- status: new (never dialled), retry (due at next_attempt_at), dialing (reserved by a node
-- until reserved_until), done (answered and dispositioned, or out of attempts), dnc.
CREATE TABLE leads (
    id               bigserial PRIMARY KEY,
    campaign_id      bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    phone            text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{5,14}$'),
    name             text NOT NULL,
    timezone         text NOT NULL,
    customer_id      bigint,  -- the customer this lead is, when customers knows the number
    status           text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'retry', 'dialing', 'done', 'dnc')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    reserved_by      text,
    reserved_until   timestamptz,
    last_outcome     text,
    disposition      text,
    disposition_note text,
    UNIQUE (campaign_id, phone)
);
CREATE INDEX leads_due ON leads (campaign_id, status, next_attempt_at);

-- One row per Originate; channel_id is the ChannelId sent to Asterisk.
CREATE TABLE dial_attempts (
    channel_id       text PRIMARY KEY,
    lead_id          bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    campaign_id      bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    node             text NOT NULL,
    agent_interface  text,
    dialled_at       timestamptz NOT NULL,
    outcome          text CHECK (outcome IN ('answered', 'busy', 'no_answer', 'failed', 'machine')),
    answered_at      timestamptz,
    dropped          boolean NOT NULL DEFAULT false,
    ended_at         timestamptz
);
CREATE INDEX dial_attempts_answered ON dial_attempts (campaign_id, answered_at) WHERE answered_at IS NOT NULL;

-- campaign_id NULL is the global list. until NULL is for ever; a dropped call's number gets 72 h.
CREATE TABLE do_not_call (
    id           bigserial PRIMARY KEY,
    phone        text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{5,14}$'),
    campaign_id  bigint REFERENCES campaigns (id) ON DELETE CASCADE,
    until        timestamptz,
    reason       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX do_not_call_phone ON do_not_call (phone);
