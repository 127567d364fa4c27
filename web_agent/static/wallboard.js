/*
 * Hotline supervisor wallboard: queue figures and agent states, pushed over the WebSocket.
 *
 * Plain browser JavaScript, no build step, no polling: the server pushes `queue_figures`,
 * `agent_state` and `staffing_warning` events on the same stream as everything else (stream.js
 * resumes it after a blip; when the server cannot resume it sends a snapshot instead). A
 * supervisor signed in on another Hotline page of this browser sees the board at once (page.js).
 * Server values are written with textContent only, never as HTML.
 */
(function () {
  "use strict";

  const STATE_LABEL = { ready: "Ready", on_call: "On call", wrap_up: "Wrap-up", paused: "Paused", logged_out: "Logged out" };
  const WINDOWS = ["15m", "60m", "today"];
  const KPI_ROWS = [
    ["Service level", "service_level", percent],
    ["Avg speed of answer", "asa_s", seconds],
    ["Abandon rate", "abandon_rate", percent],
    ["Avg handle time", "aht_s", seconds],
    ["Occupancy", "occupancy", percent],
    ["Answered / abandoned", null, null],
  ];

  const state = {
    figures: { at: null, queues: [] },
    figuresAtMs: 0,
    agents: new Map(), // interface -> agent_state data
    warnings: [],
  };
  const dom = {};
  const byId = window.HotlinePage.byId;
  const page = window.HotlinePage.session({
    view: "wb-board",
    ids: { signin: "wb-login", form: "wb-login-form", username: "wb-username", password: "wb-password", message: "wb-login-error" },
    roles: ["supervisor", "admin"],
    refusal: "The wallboard is for supervisors.",
    onSignedIn: function () {
      live.start();
    },
    onSignedOut: function () {
      live.stop();
    },
  });
  const live = window.HotlinePage.stream({
    token: page.token,
    onStatus: function (status) {
      dom.status.dataset.state = status;
      dom.status.textContent = window.HotlinePage.STREAM_LABEL[status];
    },
    onSnapshot: onSnapshot,
    events: {
      queue_figures: setFigures,
      agent_state: function (data) {
        state.agents.set(data.interface, data);
        renderAgents();
      },
      staffing_warning: function (data) {
        state.warnings.unshift(data);
        state.warnings.length = Math.min(state.warnings.length, 3);
        renderWarnings();
      },
    },
    onEnded: function () {
      page.end(window.HotlinePage.SESSION_ENDED);
    },
  });

  function percent(value) {
    return typeof value === "number" ? Math.round(value * 100) + "%" : "–";
  }

  function seconds(value) {
    return typeof value === "number" ? duration(value) : "–";
  }

  function duration(totalSeconds) {
    const s = Math.max(0, Math.floor(totalSeconds));
    const m = Math.floor(s / 60);
    const h = Math.floor(m / 60);
    const pad = function (n) {
      return String(n).padStart(2, "0");
    };
    return h ? h + ":" + pad(m % 60) + ":" + pad(s % 60) : m + ":" + pad(s % 60);
  }

  // ---------------------------------------------------------------- the stream

  /** A new stream: the agents and figures as they are now. */
  function onSnapshot(data) {
    const board = data.wallboard;
    if (!board) return;
    state.agents.clear();
    (board.agents || []).forEach(function (agent) {
      state.agents.set(agent.interface, agent);
    });
    if (board.at) setFigures(board);
    renderAgents();
  }

  // ---------------------------------------------------------------- rendering

  function setFigures(figures) {
    state.figures = figures;
    state.figuresAtMs = Date.now();
    renderQueues();
  }

  function renderQueues() {
    const tiles = new Map();
    dom.queues.querySelectorAll("[data-queue]").forEach(function (tile) {
      tiles.set(tile.dataset.queue, tile);
    });
    (state.figures.queues || []).forEach(function (q) {
      let tile = tiles.get(q.queue);
      if (!tile) {
        tile = dom.queueTemplate.content.firstElementChild.cloneNode(true);
        tile.dataset.queue = q.queue;
        dom.queues.append(tile);
      }
      tiles.delete(q.queue);
      fillTile(tile, q);
    });
    tiles.forEach(function (tile) {
      tile.remove();
    });
    tick();
  }

  function fillTile(tile, q) {
    const role = function (name) {
      return tile.querySelector('[data-role="' + name + '"]');
    };
    role("name").textContent = q.queue;
    role("waiting").textContent = String(q.waiting);
    tile.dataset.alert = q.waiting > 0 ? "waiting" : "";
    ["ready", "on_call", "wrap_up", "paused"].forEach(function (key) {
      role(key).textContent = String(q.agents[key]);
    });
    const body = role("kpis");
    body.replaceChildren();
    KPI_ROWS.forEach(function (row) {
      const tr = document.createElement("tr");
      const th = document.createElement("td");
      th.textContent = row[0];
      tr.append(th);
      WINDOWS.forEach(function (label) {
        const w = q.windows[label] || {};
        const td = document.createElement("td");
        if (row[1] === null) {
          td.textContent = w.answered + " / " + w.abandoned;
        } else {
          td.textContent = row[2](w[row[1]]);
          if (row[1] === "service_level" && typeof w.service_level === "number") {
            td.dataset.level = w.service_level >= q.forecast.target ? "ok" : "bad";
          }
        }
        if (row[1]) td.dataset.kpi = row[1] + "-" + label;
        tr.append(td);
      });
      body.append(tr);
    });
    const f = q.forecast;
    const forecast = role("forecast");
    forecast.dataset.below = String(Boolean(f.below_target));
    forecast.textContent =
      f.service_level === null
        ? "Next 30 min: no calls arriving"
        : "Next 30 min (Erlang C): " +
          percent(f.service_level) +
          " within target with " +
          f.agents +
          " agents at " +
          Math.round(f.arrivals_per_hour) +
          " calls/h (target " +
          percent(f.target) +
          ", needs " +
          f.agents_needed +
          ")";
    tile.dataset.longestWaitS = String(q.longest_wait_s);
    tile.dataset.waiting = String(q.waiting);
  }

  function renderAgents() {
    const rows = Array.from(state.agents.values()).sort(function (a, b) {
      return a.interface < b.interface ? -1 : 1;
    });
    dom.agents.replaceChildren();
    rows.forEach(function (agent) {
      const tr = document.createElement("tr");
      tr.dataset.state = agent.state;
      tr.dataset.interface = agent.interface;
      tr.dataset.testid = "agent-row";
      tr.dataset.since = agent.since || "";
      [agent.member_name || agent.interface, STATE_LABEL[agent.state] || agent.state, agent.reason || "", ""].forEach(
        function (value, i) {
          const td = document.createElement("td");
          td.textContent = value;
          if (i === 1) td.dataset.role = "state";
          if (i === 2) td.dataset.role = "reason";
          if (i === 3) td.dataset.role = "for";
          tr.append(td);
        },
      );
      dom.agents.append(tr);
    });
    tick();
  }

  function renderWarnings() {
    dom.warnings.replaceChildren();
    state.warnings.forEach(function (w) {
      const p = document.createElement("p");
      p.dataset.testid = "staffing-warning";
      p.textContent =
        "Pausing " +
        w.interface +
        " (" +
        w.reason +
        ") would bring " +
        w.queue +
        " to " +
        percent(w.projected_after.service_level) +
        " against a target of " +
        percent(w.projected_after.target) +
        ".";
      dom.warnings.append(p);
    });
  }

  /** Waits and times in state grow every second between pushes, without asking the server. */
  function tick() {
    const elapsedS = (Date.now() - state.figuresAtMs) / 1000;
    dom.queues.querySelectorAll("[data-queue]").forEach(function (tile) {
      const waiting = Number(tile.dataset.waiting);
      const longest = Number(tile.dataset.longestWaitS);
      tile.querySelector('[data-role="longest"]').textContent = waiting > 0 ? duration(longest + elapsedS) : "–";
    });
    dom.agents.querySelectorAll("tr").forEach(function (tr) {
      const since = Date.parse(tr.dataset.since);
      tr.querySelector('[data-role="for"]').textContent = Number.isNaN(since) ? "" : duration((Date.now() - since) / 1000);
    });
    if (state.figures.at) dom.updated.textContent = "updated " + new Date(state.figures.at).toLocaleTimeString();
  }

  function init() {
    dom.status = byId("wb-status");
    dom.updated = byId("wb-updated");
    dom.queues = byId("wb-queues");
    dom.agents = byId("wb-agents");
    dom.warnings = byId("wb-warnings");
    dom.queueTemplate = byId("wb-queue-template");
    byId("wb-fullscreen").addEventListener("click", function () {
      if (document.fullscreenElement) document.exitFullscreen();
      else document.documentElement.requestFullscreen().catch(function () {});
    });
    window.setInterval(tick, 1000);
    window.HotlineWallboard = { state: state, stream: live };
    page.start();
  }

  init();
})();
