/*
 * Hotline agent desktop: the agent's own state (ready, on call, wrap-up, paused with a reason).
 *
 * It is a desktop.js plugin (`window.HotlineDesk.register`): it reads the desktop's WebSocket
 * frames (hello, snapshot, agent_state, staffing_warning) and asks the server to pause, unpause,
 * or log in to and out of a queue; the state shown changes only when Asterisk confirms it and the event arrives.
 * Server values are written with textContent only.
 */
(function () {
  "use strict";

  const H = window.HotlineDesk;
  if (!H) return;
  const LABEL = { ready: "Ready", on_call: "On call", wrap_up: "Wrap-up", paused: "Paused", logged_out: "Not in a queue" };
  const view = { interfaces: new Set(), states: new Map(), reasons: [] };
  let root = null;

  function part(name) {
    return root.querySelector('[data-role="' + name + '"]');
  }

  function onFrame(frame) {
    if (!frame || typeof frame !== "object") return;
    if (frame.op === "hello" && frame.agent && Array.isArray(frame.agent.interfaces)) {
      view.interfaces = new Set(frame.agent.interfaces);
    } else if (frame.op === "snapshot" && frame.data && frame.data.agent_state) {
      const mine = frame.data.agent_state;
      view.states.clear();
      (mine.interfaces || []).forEach(function (s) {
        view.states.set(s.interface, s);
      });
      setReasons(mine.pause_reasons || []);
      render();
    } else if (frame.op === "event" && frame.type === "agent_state" && frame.data) {
      if (!view.interfaces.has(frame.data.interface)) return; // a supervisor also hears the others
      view.states.set(frame.data.interface, frame.data);
      render();
    } else if (frame.op === "event" && frame.type === "staffing_warning" && frame.data) {
      if (!view.interfaces.has(frame.data.interface)) return;
      const after = frame.data.projected_after || {};
      const warning = part("warning");
      warning.textContent =
        "Your pause brings " +
        frame.data.queue +
        " to " +
        Math.round((after.service_level || 0) * 100) +
        "% (target " +
        Math.round((after.target || 0) * 100) +
        "%). Your supervisor was told.";
      warning.hidden = false;
    }
  }

  function setReasons(reasons) {
    view.reasons = reasons;
    const select = part("reason");
    select.replaceChildren();
    reasons.forEach(function (reason) {
      const option = document.createElement("option");
      option.value = reason;
      option.textContent = reason;
      select.append(option);
    });
  }

  /** The agent's state: the first interface in a queue decides (agents rarely have two). */
  function current() {
    const all = Array.from(view.states.values());
    return all.find(function (s) {
      return s.state !== "logged_out";
    }) || all[0];
  }

  function render() {
    // An agent whose phone Asterisk never mentioned is in no queue yet, and may log in to one.
    const s = current() || { state: "logged_out", reason: "", since: null, queues: [] };
    root.hidden = view.interfaces.size === 0;
    root.dataset.state = s.state;
    part("label").textContent = LABEL[s.state] ? LABEL[s.state] + (s.reason ? " – " + s.reason : "") : s.state;
    part("pause").hidden = s.state === "logged_out" || s.state === "paused";
    part("reason").hidden = part("pause").hidden;
    part("ready").hidden = !(s.state === "paused" || s.state === "wrap_up");
    if (s.state !== "paused") part("warning").hidden = true;
    renderQueues(s);
    tick();
  }

  /** One chip per queue the agent is in, each with a button to log out of it. */
  function renderQueues(s) {
    const box = part("queues");
    box.replaceChildren();
    (s.queues || []).forEach(function (m) {
      const chip = document.createElement("span");
      chip.className = "agent-state-queue";
      chip.dataset.queue = m.queue;
      chip.textContent = m.queue + (m.paused ? " (paused)" : "");
      const leave = document.createElement("button");
      leave.type = "button";
      leave.className = "button button--ghost";
      leave.textContent = "×";
      leave.title = "Log out of " + m.queue;
      leave.setAttribute("aria-label", "Log out of " + m.queue);
      leave.addEventListener("click", function () {
        send("DELETE", "/api/agent/queues/" + encodeURIComponent(m.queue), null, leave);
      });
      chip.append(leave);
      box.append(chip);
    });
  }

  function tick() {
    const s = current();
    if (!root || !s || s.state === "logged_out") {
      if (root) part("timer").textContent = "";
      return;
    }
    const since = Date.parse(s.since);
    const total = Number.isNaN(since) ? 0 : Math.max(0, Math.floor((Date.now() - since) / 1000));
    part("timer").textContent = Math.floor(total / 60) + ":" + String(total % 60).padStart(2, "0");
  }

  function request(path, body) {
    return send("POST", path, body, part(body ? "pause" : "ready"));
  }

  async function send(method, path, body, button) {
    button.disabled = true;
    try {
      await H.api(method, path, method === "DELETE" ? undefined : body || {});
    } catch (err) {
      part("warning").textContent = String(err.message || "The phone system refused the request.");
      part("warning").hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  function init() {
    root = document.getElementById("agent-state");
    if (!root) return;
    part("pause").addEventListener("click", function () {
      request("/api/agent/pause", { reason: part("reason").value });
    });
    part("ready").addEventListener("click", function () {
      request("/api/agent/unpause", null);
    });
    part("join").addEventListener("click", function () {
      const queue = part("queue").value.trim();
      if (queue) send("POST", "/api/agent/queues", { queue: queue }, part("join"));
    });
    H.register({ onFrame: onFrame });
    window.setInterval(tick, 1000);
  }

  init();
})();
