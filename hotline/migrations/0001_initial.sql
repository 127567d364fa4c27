-- Customers, their phone numbers and their contact history (owned by customers/).
CREATE TABLE customers (
    id           bigserial PRIMARY KEY,
    customer_no  text UNIQUE,
    name         text NOT NULL CHECK (name <> ''),
    email        text,
    tier         text NOT NULL DEFAULT 'standard' CHECK (tier IN ('vip', 'gold', 'standard')),
    birthday     date,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Numbers are stored in E.164 (+84901234567), so every spelling of one number finds one row.
CREATE TABLE customer_phones (
    phone        text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{5,14}$'),
    customer_id  bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    PRIMARY KEY (phone, customer_id)
);
CREATE INDEX customer_phones_customer ON customer_phones (customer_id);

-- The customer timeline: every contact (calls now, tickets later), newest first.
CREATE TABLE interactions (
    id           bigserial PRIMARY KEY,
    customer_id  bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    occurred_at  timestamptz NOT NULL,
    channel      text NOT NULL,
    summary      text NOT NULL,
    ref          text
);
CREATE INDEX interactions_customer_time ON interactions (customer_id, occurred_at DESC);

-- Agent accounts, their PBX interfaces and login tokens (owned by web_agent/).
CREATE TABLE agents (
    id             bigserial PRIMARY KEY,
    username       text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9._-]{2,64}$'),
    display_name   text NOT NULL,
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- One interface rings one agent, so a pop can never reach the wrong person.
CREATE TABLE agent_interfaces (
    interface  text PRIMARY KEY,
    agent_id   bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE
);
CREATE INDEX agent_interfaces_agent ON agent_interfaces (agent_id);

-- Only a SHA-256 of each token is kept: a leaked table does not leak sessions.
CREATE TABLE auth_tokens (
    token_hash  bytea PRIMARY KEY,
    agent_id    bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX auth_tokens_expiry ON auth_tokens (expires_at);

-- One row per queued call (owned by cti/).
CREATE TABLE call_log (
    call_id          text PRIMARY KEY,
    direction        text NOT NULL DEFAULT 'inbound' CHECK (direction IN ('inbound', 'outbound')),
    caller_number    text NOT NULL,
    caller_name      text NOT NULL DEFAULT '',
    customer_id      bigint REFERENCES customers (id) ON DELETE SET NULL,
    -- who the caller was at the time of the call, as the agent saw it
    customer_name    text,
    customer_tier    text,
    queue            text,
    agent_interface  text,
    outcome          text NOT NULL CHECK (outcome IN ('answered', 'abandoned', 'timeout')),
    hangup_cause     text NOT NULL DEFAULT '',
    wait_s           integer NOT NULL CHECK (wait_s >= 0),
    talk_s           integer NOT NULL CHECK (talk_s >= 0),
    started_at       timestamptz NOT NULL,
    answered_at      timestamptz,
    ended_at         timestamptz NOT NULL
);
CREATE INDEX call_log_ended ON call_log (ended_at DESC);
CREATE INDEX call_log_agent_ended ON call_log (agent_interface, ended_at DESC);
CREATE INDEX call_log_customer ON call_log (customer_id, ended_at DESC);
