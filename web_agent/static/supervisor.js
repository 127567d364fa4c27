/*
 * Hotline alarm page: the live alert feed (pushed over the WebSocket as `alert_raised` and
 * `alert_changed`), acknowledge and snooze, escalated tickets by time past breach, watched
 * customers. Plain browser JavaScript, no build step; every server value is written with
 * textContent. The alert sound is a short beep made with WebAudio, no audio file.
 */
(function () {
  "use strict";

  const KIND_LABEL = {
    warning: "Warning",
    breach: "Deadline passed",
    overdue: "Overdue",
    escalation: "Escalated",
    customer_ticket: "Watched customer: new ticket",
    customer_calls: "Watched customer: repeated calls",
  };
  const SNOOZE_CHOICES = [15, 30, 60, 240];
  const state = {
    alerts: new Map(), // id -> alert, newest first by raised_at
    escalations: [],
    audio: null,
  };
  const $ = window.HotlinePage.byId;
  const page = window.HotlinePage.session({
    view: "board",
    withDetails: true,
    onSignedIn: showBoard,
    onSignedOut: function () {
      live.stop();
    },
  });
  const api = page.api;
  const live = window.HotlinePage.stream({
    token: page.token,
    onStatus: function (status) {
      $("live").dataset.state = status;
      $("live").textContent = window.HotlinePage.STREAM_LABEL[status];
    },
    onHello: function (frame, info) {
      // Not resumed: alerts may have been raised while away; the feed is read again.
      if (!info.resumed) loadFeed().catch(showError);
    },
    events: {
      alert_raised: function (data) { onRaised(data.id); },
      alert_changed: function (data) { refreshAlert(data.id, false); },
    },
    onEnded: function () {
      page.end(window.HotlinePage.SESSION_ENDED);
    },
  });

  function say(id, message) {
    $(id).textContent = message;
  }

  // ---------------------------------------------------------------- the board

  function isSupervisor() {
    const me = page.agent();
    return Boolean(me) && (me.role === "supervisor" || me.role === "admin");
  }

  async function showBoard() {
    document.querySelectorAll("#escalated-heading, #watched-heading").forEach(function (h) {
      h.parentElement.hidden = !isSupervisor();
    });
    await loadFeed();
    if (isSupervisor()) {
      await Promise.all([loadEscalations(), loadWatched()]);
    }
    live.start();
  }

  function showError(err) {
    say("board-message", String(err.message || err));
  }

  async function onRaised(id) {
    const isNew = !state.alerts.has(id);
    await refreshAlert(id, isNew);
    if (isNew) beep();
    if (isSupervisor()) loadEscalations().catch(showError);
  }

  async function refreshAlert(id, isNew) {
    try {
      const data = await api("GET", "/api/alerts/" + encodeURIComponent(id));
      state.alerts.set(data.alert.id, data.alert);
      renderFeed(isNew ? data.alert.id : null);
    } catch (err) {
      showError(err);
    }
  }

  // ---------------------------------------------------------------- sound

  async function toggleSound() {
    // Browsers let a page make sound only after a click: the button creates the audio context.
    if (!state.audio) {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) { say("board-message", "This browser cannot play the alert sound."); return; }
      state.audio = new Context();
      await state.audio.resume();
    } else if (state.audio.state === "running") {
      await state.audio.suspend();
    } else {
      await state.audio.resume();
    }
    updateSoundButton(state.audio.state === "running");
    beep();
  }

  function updateSoundButton(on) {
    $("sound").textContent = on ? "Sound on" : "Sound off";
    $("sound").setAttribute("aria-pressed", on ? "true" : "false");
  }

  function beep() {
    const ctx = state.audio;
    if (!ctx || ctx.state !== "running") return;
    const oscillator = ctx.createOscillator();
    const gain = ctx.createGain();
    oscillator.type = "sine";
    oscillator.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.3, ctx.currentTime + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.25);
    oscillator.connect(gain).connect(ctx.destination);
    oscillator.start();
    oscillator.stop(ctx.currentTime + 0.3);
  }

  // ---------------------------------------------------------------- the feed

  async function loadFeed() {
    const data = await api("GET", "/api/alerts?limit=100");
    state.alerts.clear();
    data.alerts.forEach(function (a) { state.alerts.set(a.id, a); });
    renderFeed(null);
  }

  function renderFeed(newId) {
    const list = $("feed");
    list.replaceChildren();
    const alerts = Array.from(state.alerts.values()).sort(function (a, b) {
      return b.raised_at.localeCompare(a.raised_at) || b.id - a.id;
    });
    alerts.forEach(function (a) { list.appendChild(alertItem(a, a.id === newId)); });
    $("feed-empty").hidden = alerts.length > 0;
    const open = alerts.filter(function (a) { return !a.acknowledged_at; }).length;
    $("badge").textContent = String(open);
    $("badge").hidden = open === 0;
    document.title = (open ? "(" + open + ") " : "") + "Hotline · Alarms";
  }

  function text(tag, className, value) {
    const el = document.createElement(tag);
    el.className = className;
    el.textContent = value;
    return el;
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString() : "";
  }

  function alertItem(a, isNew) {
    const li = document.createElement("li");
    li.className = "alarm-item" + (isNew ? " alarm-new" : "");
    li.dataset.testid = "alert";
    li.dataset.alertId = String(a.id);
    li.dataset.kind = a.kind;
    li.dataset.acknowledged = a.acknowledged_at ? "true" : "false";
    const head = document.createElement("div");
    head.className = "alarm-head";
    head.appendChild(text("span", "alarm-kind", KIND_LABEL[a.kind] || a.kind));
    head.appendChild(text("span", "alarm-title", a.title)).dataset.testid = "alert-title";
    li.appendChild(head);
    let meta = "Raised " + when(a.raised_at);
    if (a.recipient) meta += " · for " + a.recipient;
    if (a.acknowledged_at) meta += " · acknowledged " + when(a.acknowledged_at);
    else if (a.snoozed_until && new Date(a.snoozed_until) > new Date()) meta += " · snoozed until " + when(a.snoozed_until);
    li.appendChild(text("div", "alarm-meta", meta)).dataset.testid = "alert-meta";
    const deliveries = document.createElement("div");
    deliveries.className = "alarm-deliveries";
    a.deliveries.forEach(function (d, i) {
      let label = d.channel + " " + d.status;
      if (d.status !== "sent" && d.last_error) label += " (" + d.last_error + "; attempt " + d.attempts + ")";
      const span = text("span", "delivery", (i ? " · " : "") + label);
      span.dataset.status = d.status;
      span.dataset.channel = d.channel;
      deliveries.appendChild(span);
    });
    li.appendChild(deliveries);
    if (!a.acknowledged_at) {
      const actions = document.createElement("div");
      actions.className = "alarm-actions";
      const ack = text("button", "button button--small button--primary", "Acknowledge");
      ack.type = "button";
      ack.dataset.testid = "ack";
      ack.addEventListener("click", function () { act(a.id, "ack"); });
      actions.appendChild(ack);
      const minutes = document.createElement("select");
      minutes.setAttribute("aria-label", "Snooze for");
      SNOOZE_CHOICES.forEach(function (m) {
        const option = text("option", "", m < 60 ? m + " min" : m / 60 + " h");
        option.value = String(m);
        if (m === 30) option.selected = true;
        minutes.appendChild(option);
      });
      actions.appendChild(minutes);
      const snooze = text("button", "button button--small", "Snooze");
      snooze.type = "button";
      snooze.dataset.testid = "snooze";
      snooze.addEventListener("click", function () { act(a.id, "snooze", { minutes: Number(minutes.value) }); });
      actions.appendChild(snooze);
      li.appendChild(actions);
    }
    return li;
  }

  async function act(id, action, body) {
    say("board-message", "");
    try {
      const data = await api("POST", "/api/alerts/" + id + "/" + action, body);
      state.alerts.set(data.alert.id, data.alert);
      renderFeed(null);
      if (isSupervisor()) await loadEscalations();
    } catch (err) {
      showError(err);
    }
  }

  // ---------------------------------------------------------------- escalated tickets

  async function loadEscalations() {
    const data = await api("GET", "/api/escalations");
    state.escalations = data.escalations;
    state.escalationsAtMs = Date.now();
    renderEscalations();
  }

  function duration(totalSeconds) {
    const s = Math.max(0, Math.floor(totalSeconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return h >= 24 ? Math.floor(h / 24) + " d " + (h % 24) + " h" : h + " h " + String(m).padStart(2, "0") + " min";
  }

  function renderEscalations() {
    const body = $("escalated-rows");
    body.replaceChildren();
    const elapsed = (Date.now() - (state.escalationsAtMs || Date.now())) / 1000;
    state.escalations.forEach(function (e) {
      const row = document.createElement("tr");
      row.dataset.testid = "escalated-ticket";
      row.dataset.ticketId = String(e.ticket_id);
      [
        "#" + e.ticket_id, e.subject, e.customer_name || "–", e.priority,
        duration(e.past_breach_s + elapsed), String(e.level || "–"),
        e.acknowledged_at ? "yes" : (e.snoozed_until ? "snoozed" : "no"),
      ].forEach(function (value) { row.appendChild(text("td", "", value)); });
      body.appendChild(row);
    });
  }

  // ---------------------------------------------------------------- watched customers

  async function loadWatched() {
    const data = await api("GET", "/api/watched-customers");
    const body = $("watched-rows");
    body.replaceChildren();
    data.watched.forEach(function (w) {
      const row = document.createElement("tr");
      row.dataset.testid = "watched-customer";
      [w.customer_name, w.customer_tier, w.owner_name, w.owner_email || "–", w.note].forEach(function (value) {
        row.appendChild(text("td", "", value));
      });
      const cell = document.createElement("td");
      const stop = text("button", "button button--small", "Stop watching");
      stop.type = "button";
      stop.addEventListener("click", async function () {
        try {
          await api("DELETE", "/api/watched-customers/" + w.customer_id);
          await loadWatched();
        } catch (err) {
          say("watch-message", String(err.message || err));
        }
      });
      cell.appendChild(stop);
      row.appendChild(cell);
      body.appendChild(row);
    });
  }

  async function watch(event) {
    event.preventDefault();
    const form = event.target;
    say("watch-message", "");
    try {
      await api("POST", "/api/watched-customers", {
        customer_id: Number(form.customer_id.value),
        owner_agent_id: Number(form.owner_agent_id.value),
        owner_email: form.owner_email.value.trim() || null,
        note: form.note.value,
      });
      form.reset();
      await loadWatched();
    } catch (err) {
      say("watch-message", String(err.message || err));
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("watch-form").addEventListener("submit", watch);
    $("sound").addEventListener("click", toggleSound);
    window.setInterval(function () { if (state.escalations.length) renderEscalations(); }, 30000);
    page.start();
  });
})();
