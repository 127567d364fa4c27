/*
 * Hotline supervisor campaign page: live figures per campaign (polled every 2 s), start, pause,
 * stop, lead files and new campaigns. Plain browser JavaScript, no build step; every value from
 * the server is written with textContent.
 */
(function () {
  "use strict";

  const POLL_MS = 2000;
  const METHOD_LABEL = { preview: "Preview", progressive: "Progressive", predictive: "Predictive" };
  const STATE_LABEL = { running: "Running", paused: "Paused", stopped: "Stopped" };
  const state = { timer: null, polling: false };
  const $ = window.HotlinePage.byId;
  const page = window.HotlinePage.session({
    view: "board",
    roles: ["supervisor", "admin"],
    refusal: "The campaign page is for supervisors.",
    withDetails: true,
    onSignedIn: function () {
      refresh();
      state.timer = window.setInterval(refresh, POLL_MS);
    },
    onSignedOut: function () {
      if (state.timer) window.clearInterval(state.timer);
      state.timer = null;
    },
  });
  const api = page.api;

  function percent(rate) {
    return (rate * 100).toFixed(1) + "%";
  }

  function cell(row, value, testId) {
    const td = document.createElement("td");
    td.textContent = value;
    if (testId) td.dataset.testid = testId;
    row.appendChild(td);
    return td;
  }

  function button(label, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "button button--small";
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  function render(campaigns) {
    const body = $("campaign-rows");
    body.replaceChildren();
    campaigns.forEach(function (c) {
      const live = c.live;
      const row = document.createElement("tr");
      row.dataset.campaignId = String(c.id);
      row.dataset.testid = "campaign-row";
      cell(row, c.name, "campaign-name");
      cell(row, METHOD_LABEL[c.dial_method] || c.dial_method);
      cell(row, STATE_LABEL[c.state] || c.state, "campaign-state").dataset.state = c.state;
      cell(row, String(live.dialled_24h), "dialled");
      cell(row, String(live.answered_24h), "answered");
      cell(row, String(live.dropped_24h), "dropped");
      const over24 = cell(row, percent(live.abandon_rate_24h), "abandon-24h");
      const over30 = cell(row, percent(live.abandon_rate_30d), "abandon-30d");
      if (live.abandon_rate_24h >= c.abandon_cap) over24.classList.add("abandon-over");
      if (live.abandon_rate_30d >= c.abandon_cap) over30.classList.add("abandon-over");
      cell(row, live.agents_busy + " / " + live.agents_idle, "agents");
      cell(row, c.dial_method === "predictive" ? live.pacing_level.toFixed(2) + (live.capped ? " (capped)" : "") : "–", "pacing");
      cell(row, live.leads_remaining + " of " + live.leads_total, "leads-left");
      const control = cell(row, "");
      [["Start", "running"], ["Pause", "paused"], ["Stop", "stopped"]].forEach(function (pair) {
        const b = button(pair[0], function () { setState(c.id, pair[1]); });
        b.dataset.testid = "set-" + pair[1];
        b.disabled = c.state === pair[1];
        control.appendChild(b);
      });
      const upload = cell(row, "");
      const input = document.createElement("input");
      input.type = "file";
      input.accept = ".csv,text/csv";
      input.dataset.testid = "leads-file";
      input.addEventListener("change", function () { if (input.files.length) uploadLeads(c.id, input.files[0]); });
      upload.appendChild(input);
      body.appendChild(row);
    });
  }

  async function refresh() {
    if (state.polling) return;
    state.polling = true;
    try {
      const data = await api("GET", "/api/campaigns");
      render(data.campaigns);
      $("board-message").textContent = data.campaigns.length ? "" : "No campaign yet: create one below.";
    } catch (err) {
      $("board-message").textContent = err.message;
    } finally {
      state.polling = false;
    }
  }

  async function setState(id, value) {
    try {
      await api("POST", "/api/campaigns/" + id + "/state", { state: value });
      await refresh();
    } catch (err) {
      $("board-message").textContent = err.message;
    }
  }

  async function uploadLeads(id, file) {
    const report = $("import-report");
    try {
      const r = await api("POST", "/api/campaigns/" + id + "/leads", await file.text(), "text/csv");
      const lines = [r.created + " leads added, " + r.updated + " updated, " + r.merged.length + " merged, " + r.rejected.length + " refused"];
      r.rejected.forEach(function (x) { lines.push("line " + x.line + ": refused: " + x.reason); });
      r.merged.forEach(function (x) { lines.push("line " + x.line + ": merged into line " + x.into_line + ": " + x.reason); });
      report.textContent = lines.join("\n");
      await refresh();
    } catch (err) {
      report.textContent = err.message;
    }
    report.hidden = false;
  }

  async function createCampaign(event) {
    event.preventDefault();
    const form = event.target;
    const f = form.elements;
    const body = {
      name: f.name.value.trim(),
      queue: f.queue.value.trim(),
      dial_method: f.dial_method.value,
      caller_id: f.caller_id.value.trim(),
      window_start: f.window_start.value,
      window_end: f.window_end.value,
      max_attempts: Number(f.max_attempts.value),
      sales: f.sales.checked,
      script: f.script.value,
    };
    try {
      await api("POST", "/api/campaigns", body);
      $("new-message").textContent = "Campaign created (paused).";
      form.reset();
      await refresh();
    } catch (err) {
      $("new-message").textContent = err.message;
    }
  }

  function start() {
    $("new-campaign").addEventListener("submit", createCampaign);
    page.start();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
