/*
 * Hotline agent desktop, outbound campaigns: join a running campaign, preview and dial leads
 * (preview campaigns), and for every connected campaign call the lead, the script and the
 * disposition. The call's own screen pop (desktop.js) is marked "Outbound".
 *
 * It is a desktop.js plugin (`window.HotlineDesk.register`): it hears the `outbound_pop` events
 * of the desktop's stream and calls the API through the desktop's client. Values from the server
 * are written with textContent only.
 */
(function () {
  "use strict";

  const POLL_MS = 3000;
  const DISPOSITIONS = [
    ["sale", "Sale"],
    ["interested", "Interested"],
    ["callback", "Call back"],
    ["not_interested", "Not interested"],
    ["wrong_number", "Wrong number"],
    ["do_not_call", "Do not call"],
    ["answering_machine", "Answering machine"],
  ];
  const view = { panel: null, select: null, join: null, status: null, preview: null, calls: null };
  const local = { joined: null, campaigns: [], previewLead: null };

  const H = window.HotlineDesk;
  if (!H) return;

  function signedIn() {
    return Boolean(H.state.token);
  }

  /** The server's sentence and, for a 422, what was wrong with each field. */
  function problem(err) {
    const details = err.details && typeof err.details === "object" ? Object.values(err.details) : [];
    return details.length ? err.message + " (" + details.join("; ") + ")" : err.message;
  }

  function api(method, path, body) {
    return H.api(method, path, body).then(function (data) {
      return data || {};
    });
  }

  function el(tag, className, textValue) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (textValue !== undefined) node.textContent = textValue;
    return node;
  }

  function build() {
    // In the right-hand column, above today's calls; the panel shows only while there is campaign work.
    const column = document.querySelector(".workspace .column");
    if (!column || view.panel) return;
    const panel = el("section", "panel panel--outbound");
    panel.hidden = true;
    panel.setAttribute("aria-labelledby", "outbound-heading");
    panel.dataset.testid = "outbound-panel";
    const head = el("div", "panel-head");
    const title = el("h2", "panel-title", "Outbound campaign");
    title.id = "outbound-heading";
    head.appendChild(title);
    const row = el("div", "outbound-join");
    view.select = el("select", "outbound-select");
    view.select.setAttribute("aria-label", "Campaign");
    view.select.dataset.testid = "campaign-select";
    view.join = el("button", "button button--small", "Join");
    view.join.type = "button";
    view.join.dataset.testid = "campaign-join";
    view.join.addEventListener("click", toggleJoin);
    row.append(view.select, view.join);
    view.status = el("p", "outbound-status");
    view.status.dataset.testid = "outbound-status";
    view.preview = el("div", "outbound-preview");
    view.calls = el("div", "outbound-calls");
    panel.append(head, row, view.status, view.preview, view.calls);
    column.insertBefore(panel, column.querySelector(".panel--today"));
    view.panel = panel;
  }

  async function refresh() {
    if (!signedIn()) return;
    build();
    try {
      const mine = await api("GET", "/api/campaigns/mine");
      local.campaigns = mine.campaigns;
      local.joined = mine.joined;
      const chosen = view.select.value;
      view.select.replaceChildren();
      mine.campaigns.forEach(function (c) {
        const option = el("option", "", c.name + " (" + c.dial_method + ")");
        option.value = String(c.id);
        view.select.appendChild(option);
      });
      if (local.joined) view.select.value = String(local.joined.campaign_id);
      else if (chosen) view.select.value = chosen;
      view.panel.hidden = !local.joined && mine.campaigns.length === 0 && !view.calls.childElementCount;
      view.join.textContent = local.joined ? "Leave" : "Join";
      view.join.disabled = !local.joined && mine.campaigns.length === 0;
      view.status.textContent = local.joined
        ? "In " + campaignName(local.joined.campaign_id) + ": " + local.joined.state
        : mine.campaigns.length ? "Not taking campaign calls." : "No campaign is running.";
      const joined = joinedCampaign();
      if (joined && joined.dial_method === "preview" && local.joined.state === "free") await loadPreview(joined.id);
      else renderPreview(null);
    } catch (err) {
      view.status.textContent = problem(err);
    }
  }

  function campaignName(id) {
    const c = local.campaigns.find(function (x) { return x.id === id; });
    return c ? c.name : "campaign " + id;
  }

  function joinedCampaign() {
    if (!local.joined) return null;
    return local.campaigns.find(function (x) { return x.id === local.joined.campaign_id; }) || null;
  }

  async function toggleJoin() {
    try {
      if (local.joined) await api("POST", "/api/campaigns/leave");
      else await api("POST", "/api/campaigns/" + view.select.value + "/join");
    } catch (err) {
      view.status.textContent = problem(err);
    }
    await refresh();
  }

  async function loadPreview(campaignId) {
    const data = await api("GET", "/api/campaigns/" + campaignId + "/preview");
    renderPreview(data.lead, campaignId);
  }

  function renderPreview(lead, campaignId) {
    view.preview.replaceChildren();
    local.previewLead = lead;
    if (!lead) return;
    const card = el("div", "pop-card outbound-lead");
    card.dataset.testid = "preview-lead";
    card.append(el("strong", "", lead.name), el("span", "outbound-phone", " " + lead.phone));
    card.append(el("p", "", "Attempts so far: " + lead.attempts));
    const dial = el("button", "button button--primary button--small", "Dial");
    dial.type = "button";
    dial.dataset.testid = "preview-dial";
    dial.addEventListener("click", async function () {
      try {
        await api("POST", "/api/campaigns/" + campaignId + "/leads/" + lead.id + "/dial");
        view.status.textContent = "Dialling " + lead.name + "…";
        view.preview.replaceChildren();
      } catch (err) {
        view.status.textContent = problem(err);
      }
    });
    const skip = el("button", "button button--ghost button--small", "Skip");
    skip.type = "button";
    skip.addEventListener("click", async function () {
      await api("POST", "/api/campaigns/" + campaignId + "/leads/" + lead.id + "/skip");
      await refresh();
    });
    card.append(dial, skip);
    view.preview.appendChild(card);
  }

  function onOutboundPop(data) {
    build();
    view.panel.hidden = false;
    const card = el("div", "pop-card outbound-call");
    card.dataset.testid = "outbound-call";
    card.dataset.callId = String(data.call_id);
    const who = data.customer ? data.customer.name : data.lead.name;
    card.append(el("span", "badge", "Outbound · " + data.campaign.name));
    const name = el("strong", "", who);
    name.dataset.testid = "outbound-lead-name";
    card.append(name, el("span", "outbound-phone", " " + data.lead.phone));
    const script = el("p", "outbound-script", data.campaign.script);
    script.dataset.testid = "outbound-script";
    card.appendChild(script);
    const form = el("form", "outbound-disposition");
    const select = el("select");
    select.dataset.testid = "disposition";
    DISPOSITIONS.forEach(function (pair) {
      const option = el("option", "", pair[1]);
      option.value = pair[0];
      select.appendChild(option);
    });
    const when = el("input");
    when.type = "datetime-local";
    when.setAttribute("aria-label", "Call back at");
    const note = el("input");
    note.placeholder = "Note";
    note.maxLength = 2000;
    const save = el("button", "button button--primary button--small", "Save disposition");
    save.type = "submit";
    save.dataset.testid = "disposition-save";
    const message = el("p", "outbound-status");
    form.append(select, when, note, save, message);
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const body = { disposition: select.value, note: note.value };
      if (select.value === "callback" && when.value) body.callback_at = new Date(when.value).toISOString();
      try {
        await api("POST", "/api/leads/" + data.lead.id + "/disposition", body);
        card.remove();
        await refresh();
      } catch (err) {
        message.textContent = problem(err);
      }
    });
    card.appendChild(form);
    view.calls.prepend(card);
    // The inbound-style pop of the same call, when desktop.js shows one: mark it outbound.
    document.querySelectorAll('[data-testid=pop-card]').forEach(function (pop) {
      if (pop.dataset.callId === String(data.call_id)) pop.dataset.direction = "outbound";
    });
    refresh();
  }

  H.register({
    onDesktopStart: refresh,
    onReconnect: refresh,
    onEvent: function (type, data) {
      if (type === "outbound_pop" && data && data.lead && data.campaign) onOutboundPop(data);
    },
    onSessionEnd: function () {
      if (view.panel) view.panel.remove();
      view.panel = null;
    },
  });

  // Campaign states and leads change on the server without an event of their own.
  window.setInterval(function () {
    if (signedIn()) refresh();
  }, POLL_MS);
})();
