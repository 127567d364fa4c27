-- Time in each agent state, one row per closed period (owned by cti/), for the reports.
CREATE TABLE agent_state_periods (
    id          bigserial PRIMARY KEY,
    interface   text NOT NULL,
    state       text NOT NULL CHECK (state IN ('logged_out', 'ready', 'on_call', 'wrap_up', 'paused')),
    reason      text NOT NULL DEFAULT '',
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz NOT NULL CHECK (ended_at >= started_at),
    duration_s  double precision GENERATED ALWAYS AS (extract(epoch FROM ended_at - started_at)) STORED
);
CREATE INDEX agent_state_periods_interface_time ON agent_state_periods (interface, started_at);
