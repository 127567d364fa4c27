-- The way each caller went through the IVR (owned by cti/: it is call data). `call_id` is the
-- call's Linkedid, the same key as call_log and the screen pop; one row per AGI session.
CREATE TABLE ivr_visits (
    unique_id           text PRIMARY KEY,
    call_id             text NOT NULL,
    caller_number       text NOT NULL,
    caller_name         text NOT NULL DEFAULT '',
    customer_id         bigint REFERENCES customers (id) ON DELETE SET NULL,
    started_at          timestamptz NOT NULL,
    ended_at            timestamptz NOT NULL,
    -- [{"node": "main", "action": "menu", "input": "2", "result": "chosen"}, ...]
    steps               jsonb NOT NULL CHECK (jsonb_typeof(steps) = 'array'),
    outcome             text NOT NULL CHECK (outcome IN ('queued', 'completed', 'hung_up', 'failed')),
    queue               text,
    queue_priority      integer,
    category            text,
    -- no foreign key: articles belong to knowledge_base/, and the visit outlives an edited FAQ
    article_id          bigint,
    article_title       text,
    callback_requested  boolean NOT NULL DEFAULT false
);
CREATE INDEX ivr_visits_call ON ivr_visits (call_id, ended_at DESC);
CREATE INDEX ivr_visits_customer ON ivr_visits (customer_id, ended_at DESC);
