/*
 * Hotline agent desktop: sign-in, live screen pops over the WebSocket, today's calls.
 *
 * Plain browser JavaScript, no build step. Everything lives in this one closure; the globals
 * are `window.Hotline`, a small handle for browser tests and debugging, and
 * `window.HotlineDesk`, the helpers and hooks tickets.js (loaded after this file) builds on.
 *
 * Safety rule: every value that comes from the server (caller names above all, which the
 * caller chooses) is written with textContent or as an attribute value, never as HTML.
 * Markup comes only from the <template> elements in index.html.
 */
(function () {
  "use strict";

  // ---------------------------------------------------------------- constants

  const SESSION_ENDED = "Your session has ended, please sign in again.";
  const NETWORK_DOWN = "Hotline could not be reached. Check your connection and try again.";
  const TODAY_REFRESH_DEBOUNCE_MS = 250;
  // The call log row may be written a moment after call_ended is published, so a refresh
  // that does not contain the ended call is retried a couple of times.
  const TODAY_RETRY_DELAYS_MS = [1500, 4000];

  /** How each pop status looks and behaves. fadeMs: removed after that long (null = stays). */
  const POP_STATUS = {
    ringing: { label: "Ringing", timer: "ring", fadeMs: null, dismissable: false },
    on_call: { label: "On call", timer: "talk", fadeMs: null, dismissable: false },
    answered_elsewhere: { label: "Answered by a colleague", timer: null, fadeMs: 3000, dismissable: true },
    missed: { label: "Missed", timer: null, fadeMs: 30000, dismissable: true },
    caller_left: { label: "Caller hung up", timer: null, fadeMs: 30000, dismissable: true },
    ended: { label: "Call ended", timer: null, fadeMs: 1500, dismissable: true },
  };
  const RETRACT_REASON_STATUS = {
    answered_elsewhere: "answered_elsewhere",
    no_answer: "missed",
    caller_left: "caller_left",
  };
  const TIER_LABEL = { vip: "VIP", gold: "Gold", standard: "Standard" };
  const ROLE_LABEL = { agent: "Agent", supervisor: "Supervisor", admin: "Admin" };
  const OUTCOME_LABEL = { answered: "Answered", abandoned: "Abandoned", timeout: "Timed out" };
  // Sprite symbols in index.html; any other channel gets a plain dot.
  const CHANNEL_ICON = { call: "i-call", email: "i-email", chat: "i-chat", sms: "i-chat", ticket: "i-ticket", portal: "i-portal", ivr: "i-ivr" };
  const SVG_NS = "http://www.w3.org/2000/svg";

  // English labels, but the browser's own time zone: agents read times as wall-clock times.
  const CLOCK_FORMAT = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit" });
  const DAY_FORMAT = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short" });
  const DAY_YEAR_FORMAT = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric" });
  const FULL_FORMAT = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "medium" });

  // ---------------------------------------------------------------- state

  /** The one mutable state object. Views are derived from it; nothing else holds data. */
  const state = {
    token: null,
    agent: null,
    // Bumped on every sign-in and sign-out so late answers from an old session are dropped.
    session: 0,
    tickTimer: null,
    // The live stream (stream.js), shown here for browser tests and a developer console.
    get socket() {
      return live.socket;
    },
    get scope() {
      return live.scope;
    },
    pops: new Map(), // call_id -> pop (see createPop)
    popCounter: 0, // unique suffix for form element ids
    todayCalls: [],
    todayRequest: 0,
    todayTimer: null,
  };

  /** DOM handles looked up once at start. */
  const dom = {};

  // ---------------------------------------------------------------- small helpers

  /** A server value as display text; null/undefined become "". */
  const text = window.HotlinePage.text;

  /** Seconds as mm:ss (h:mm:ss past an hour); negative or missing counts as zero. */
  function formatDuration(seconds) {
    const total = Math.max(0, Math.floor(Number(seconds) || 0));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    const mm = String(m).padStart(2, "0");
    const ss = String(s).padStart(2, "0");
    return h > 0 ? h + ":" + mm + ":" + ss : mm + ":" + ss;
  }

  function parseTime(iso) {
    const ms = Date.parse(text(iso));
    return Number.isFinite(ms) ? new Date(ms) : null;
  }

  function sameLocalDay(a, b) {
    return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
  }

  /** "Today 14:05", "Yesterday 09:12", "3 Mar, 10:40" or "3 Mar 2023" for an interaction. */
  function formatWhen(date, now) {
    if (!date) return "";
    const yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
    if (sameLocalDay(date, now)) return "Today " + CLOCK_FORMAT.format(date);
    if (sameLocalDay(date, yesterday)) return "Yesterday " + CLOCK_FORMAT.format(date);
    if (date.getFullYear() === now.getFullYear()) return DAY_FORMAT.format(date) + ", " + CLOCK_FORMAT.format(date);
    return DAY_YEAR_FORMAT.format(date);
  }

  /** True when a "YYYY-MM-DD" birthday falls on today's local date. */
  function isBirthdayToday(birthday, now) {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text(birthday));
    if (!match) return false;
    const month = Number(match[2]) - 1;
    const day = Number(match[3]);
    if (month === now.getMonth() && day === now.getDate()) return true;
    // People born on 29 February celebrate on the 28th in other years.
    const leap = new Date(now.getFullYear(), 1, 29).getMonth() === 1;
    return !leap && month === 1 && day === 29 && now.getMonth() === 1 && now.getDate() === 28;
  }

  function tierOf(value) {
    const tier = text(value).toLowerCase();
    return Object.hasOwn(TIER_LABEL, tier) ? tier : "standard";
  }

  /** A tier badge element; VIP gets a star so it reads as special even without colour. */
  function tierBadge(value, testId) {
    const tier = tierOf(value);
    const badge = document.createElement("span");
    badge.className = "tier tier--" + tier;
    badge.dataset.tier = tier;
    if (testId) badge.dataset.testid = testId;
    badge.textContent = tier === "vip" ? "★ VIP" : TIER_LABEL[tier];
    return badge;
  }

  /** A decorative icon from the sprite in index.html. */
  function icon(symbolId) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const use = document.createElementNS(SVG_NS, "use");
    use.setAttribute("href", "#" + symbolId);
    svg.append(use);
    return svg;
  }

  function cloneTemplate(id) {
    return document.getElementById(id).content.firstElementChild.cloneNode(true);
  }

  function part(root, role) {
    return root.querySelector('[data-role="' + role + '"]');
  }

  /** Speak one short sentence to screen readers (the region is aria-live="assertive"). */
  function announce(message) {
    // Clearing first makes a repeated identical sentence be read again.
    dom.announcer.textContent = "";
    window.setTimeout(function () {
      dom.announcer.textContent = message;
    }, 50);
  }

  // ---------------------------------------------------------------- HTTP

  /** An API failure carrying the server's stable error_id and human message. */
  const ApiError = window.HotlinePage.RequestError;

  /**
   * One JSON request to the API with the bearer token and a deadline.
   * A 401 on an authenticated call ends the session (the token expired or was revoked);
   * pass {quiet: true} where that must not happen (sign-out).
   */
  async function api(method, path, body, options) {
    const quiet = Boolean(options && options.quiet);
    const sentWithToken = Boolean(state.token);
    try {
      return await window.HotlinePage.request(method, path, body, { token: state.token, networkMessage: NETWORK_DOWN });
    } catch (err) {
      if (err.status === 401 && sentWithToken && !quiet) endSession(SESSION_ENDED);
      throw err;
    }
  }

  // ---------------------------------------------------------------- views: sign-in

  function showLogin(message, tone) {
    dom.desktopView.hidden = true;
    dom.loginView.hidden = false;
    document.title = "Sign in · Hotline";
    setLoginMessage(message, tone);
    setLoginBusy(false);
    dom.password.value = "";
    (dom.username.value ? dom.password : dom.username).focus();
  }

  /** tone "error" (red) or "info" (neutral, e.g. the session-ended notice). */
  function setLoginMessage(message, tone) {
    dom.loginError.textContent = text(message);
    dom.loginError.hidden = !message;
    dom.loginError.dataset.tone = tone || "error";
  }

  function setLoginBusy(busy) {
    dom.loginSubmit.disabled = busy;
    dom.loginSubmit.textContent = busy ? "Signing in…" : "Sign in";
    dom.loginForm.setAttribute("aria-busy", busy ? "true" : "false");
  }

  async function onLoginSubmit(event) {
    event.preventDefault();
    if (dom.loginSubmit.disabled) return; // Enter pressed twice
    const username = dom.username.value.trim();
    const password = dom.password.value;
    if (!username || !password) {
      setLoginMessage("Enter your username and password.", "error");
      (username ? dom.password : dom.username).focus();
      return;
    }
    setLoginBusy(true);
    setLoginMessage("");
    try {
      const result = await api("POST", "/api/auth/login", { username: username, password: password });
      if (!result.token || !result.agent) throw new ApiError(0, "bad_response", "Unexpected answer from the server.");
      state.token = result.token;
      window.HotlinePage.credentials.keep(result.token);
      dom.password.value = "";
      startDesktop(result.agent);
    } catch (err) {
      setLoginMessage(err.message, "error");
      dom.password.select();
      dom.password.focus();
    } finally {
      setLoginBusy(false);
    }
  }

  // ---------------------------------------------------------------- session lifecycle

  /** Enter the desktop for a signed-in agent: top bar, socket, today's calls, clock. */
  function startDesktop(agent) {
    state.session += 1;
    window.clearInterval(state.tickTimer);
    state.agent = agent;
    renderAgent(agent);
    clearPops();
    renderTodayCalls([]);
    notifyPlugins("onDesktopStart", agent);
    dom.loginView.hidden = true;
    dom.desktopView.hidden = false;
    setLoginMessage("");
    updateTitle();
    live.start();
    loadTodayCalls();
    state.tickTimer = window.setInterval(tick, 1000);
  }

  /** Stop everything that belongs to the current session (stream, timers, cards); this tab forgets the token. */
  function teardownSession() {
    state.session += 1;
    window.clearInterval(state.tickTimer);
    window.clearTimeout(state.todayTimer);
    state.tickTimer = null;
    live.stop();
    clearPops();
    notifyPlugins("onSessionEnd");
    state.token = null;
    state.agent = null;
    state.todayCalls = [];
    window.HotlinePage.credentials.drop();
  }

  /** Back to the sign-in screen with a notice when the token is no longer accepted (here and in the other tabs). */
  function endSession(message) {
    if (!state.token && dom.desktopView.hidden) return; // already at the sign-in screen
    window.HotlinePage.credentials.end("ended");
    teardownSession();
    showLogin(message, "info");
  }

  async function onSignOut() {
    dom.signOut.disabled = true;
    try {
      await api("POST", "/api/auth/logout", undefined, { quiet: true });
    } catch (err) {
      // The token is forgotten locally either way; an unreachable server must not trap the agent.
    } finally {
      dom.signOut.disabled = false;
    }
    // Every Hotline tab of this browser that holds the token signs out with this one.
    window.HotlinePage.credentials.end("signed_out");
    teardownSession();
    showLogin("");
  }

  /** Another tab signed out, or found the token refused: this one follows. */
  function onEndedElsewhere(message) {
    if (!state.token) return;
    teardownSession();
    showLogin(message, "info");
  }

  /** On page load: the session of this tab, or of another Hotline tab of this browser; else the sign-in form. */
  async function findSession() {
    const token = await window.HotlinePage.credentials.find();
    if (token) await resumeSession(token);
    else showLogin("");
  }

  /** Another tab answered after the sign-in form was shown: enter unless a sign-in is under way. */
  function onHandedOver(token) {
    if (!state.token && !dom.loginSubmit.disabled) resumeSession(token);
  }

  async function resumeSession(token) {
    state.token = token;
    try {
      const result = await api("GET", "/api/me");
      startDesktop(result.agent);
    } catch (err) {
      if (err.status === 401) return; // api() already went back to sign-in
      state.token = null;
      showLogin(err.message, "error");
    }
  }

  function renderAgent(agent) {
    dom.agentName.textContent = text(agent.display_name) || text(agent.username);
    dom.agentRole.textContent = Object.hasOwn(ROLE_LABEL, agent.role) ? ROLE_LABEL[agent.role] : text(agent.role);
    dom.supervisorNav.hidden = agent.role !== "supervisor" && agent.role !== "admin";
  }

  // ---------------------------------------------------------------- the live stream

  /** A fresh stream: bring back the pops still open on the server that this page lost. */
  function applySnapshot(data) {
    if (!Array.isArray(data.pops)) return;
    const open = new Set(data.pops.map(function (pop) {
      return text(pop && pop.call_id);
    }));
    // A call that ended while we could not hear it: its card must not stay "Ringing".
    state.pops.forEach(function (pop) {
      if (!open.has(pop.callId) && (pop.status === "ringing" || pop.status === "on_call")) setPopStatus(pop, "ended");
    });
    data.pops.forEach(function (pop) {
      if (!pop || state.pops.has(text(pop.call_id))) return;
      onScreenPop(pop);
      if (pop.answered) onCallAnswered({ call_id: pop.call_id, by_me: true });
    });
  }

  function onHello(frame, info) {
    if (frame.agent && typeof frame.agent === "object") {
      state.agent = frame.agent;
      renderAgent(frame.agent);
    }
    // Calls may have ended while we were away; the table is the source of truth for them.
    if (info.reconnected) {
      loadTodayCalls();
      notifyPlugins("onReconnect");
    }
  }

  /** The status in the top bar, and the banner while the stream is down. */
  function setConnection(connection, client) {
    dom.connection.dataset.state = connection;
    dom.connectionLabel.textContent = window.HotlinePage.STREAM_LABEL[connection];
    dom.bannerText.textContent = client.everConnected
      ? "Connection to Hotline lost. Reconnecting…"
      : "Cannot reach Hotline yet. Reconnecting…";
    dom.banner.hidden = connection !== "reconnecting";
  }

  // ---------------------------------------------------------------- events → pops

  /** A call event without a call id is dropped; the others are routed by type. */
  function callEvent(handler) {
    return function (data) {
      if (data.call_id !== undefined && data.call_id !== null) handler(data);
    };
  }

  const live = window.HotlinePage.stream({
    token: function () {
      return state.token;
    },
    onStatus: setConnection,
    onHello: onHello,
    onSnapshot: applySnapshot,
    events: {
      screen_pop: callEvent(onScreenPop),
      pop_details: callEvent(onPopDetails),
      pop_retracted: callEvent(onPopRetracted),
      call_answered: callEvent(onCallAnswered),
      call_ended: callEvent(onCallEnded),
    },
    onOtherEvent: function (type, data) {
      notifyPlugins("onEvent", type, data); // e.g. ticket_changed, handled by tickets.js
    },
    // Other panels of the desktop (agent state) read the same stream.
    onFrame: function (frame) {
      notifyPlugins("onFrame", frame);
    },
    onEnded: function () {
      endSession(SESSION_ENDED);
    },
  });

  function onScreenPop(data) {
    const callId = text(data.call_id);
    // The queue may ring us again for the same call after a no-answer: start a fresh card.
    if (state.pops.has(callId)) removePop(state.pops.get(callId), { immediate: true });
    const pop = createPop(data);
    state.pops.set(callId, pop);
    dom.popList.prepend(pop.el.card); // newest first
    revealNewPop();
    renderEmptyState();
    updateTitle();
    announce(incomingSentence(pop));
  }

  /** The IVR path and suggested answers follow the pop; they fill in the card when they come. */
  function onPopDetails(data) {
    const pop = state.pops.get(text(data.call_id));
    if (!pop) return;
    pop.ivr = data.ivr && typeof data.ivr === "object" ? data.ivr : null;
    pop.suggestions = Array.isArray(data.suggestions) ? data.suggestions.slice(0, 5) : [];
    renderIvr(part(pop.el.card, "ivr"), pop.ivr);
    renderSuggestions(pop, part(pop.el.card, "suggestions"));
  }

  function onPopRetracted(data) {
    const pop = state.pops.get(text(data.call_id));
    if (!pop || pop.status === "on_call") return; // ours now; the retraction is for others
    const status = Object.hasOwn(RETRACT_REASON_STATUS, data.reason) ? RETRACT_REASON_STATUS[data.reason] : "missed";
    setPopStatus(pop, status);
    announce(callerLabel(pop) + ": " + POP_STATUS[status].label);
  }

  function onCallAnswered(data) {
    const pop = state.pops.get(text(data.call_id));
    if (!pop) return;
    if (answeredByMe(data)) {
      pop.talkStartMs = Date.now();
      setPopStatus(pop, "on_call");
    } else if (pop.status === "ringing") {
      setPopStatus(pop, "answered_elsewhere");
    }
  }

  /** by_me is the contract; the interface check covers a server that only names the phone. */
  function answeredByMe(data) {
    if (typeof data.by_me === "boolean") return data.by_me;
    const interfaces = (state.agent && state.agent.interfaces) || [];
    return typeof data.interface === "string" && interfaces.indexOf(data.interface) !== -1;
  }

  function onCallEnded(data) {
    const callId = text(data.call_id);
    const pop = state.pops.get(callId);
    if (pop) setPopStatus(pop, "ended");
    refreshTodayCallsSoon(callId);
  }

  function callerLabel(pop) {
    const customer = pop.customer;
    return text(customer && customer.name) || text(pop.caller.name) || text(pop.caller.number) || "Hidden number";
  }

  function incomingSentence(pop) {
    const tier = pop.customer ? tierOf(pop.customer.tier) : null;
    let sentence = "Incoming call from " + callerLabel(pop);
    if (tier && tier !== "standard") sentence += ", " + TIER_LABEL[tier] + " customer";
    if (!pop.customer) sentence += ", unknown caller";
    if (pop.queue) sentence += ", queue " + pop.queue;
    return sentence + ".";
  }

  // ---------------------------------------------------------------- pop cards

  /** Build the model and DOM of a new ringing pop from a screen_pop payload. */
  function createPop(data) {
    const receivedMs = Date.now();
    const offered = parseTime(data.offered_at);
    // Server and browser clocks can disagree; never show a ring time from the future.
    const ringStartMs = offered ? Math.min(offered.getTime(), receivedMs) : receivedMs;
    state.popCounter += 1;
    const caller = data.caller && typeof data.caller === "object" ? data.caller : {};
    const pop = {
      callId: text(data.call_id),
      uid: "pop" + state.popCounter,
      queue: text(data.queue),
      caller: { number: text(caller.number), name: text(caller.name) },
      customer: data.customer && typeof data.customer === "object" ? data.customer : null,
      interactions: Array.isArray(data.interactions) ? data.interactions.slice(0, 5) : [],
      ivr: data.ivr && typeof data.ivr === "object" ? data.ivr : null,
      suggestions: Array.isArray(data.suggestions) ? data.suggestions.slice(0, 5) : [],
      status: "ringing",
      ringStartMs: ringStartMs,
      talkStartMs: null,
      formOpen: false,
      hold: false, // set by tickets.js while a ticket is being taken from this card
      removeTimer: null,
      el: null,
    };
    pop.el = buildPopCard(pop);
    return pop;
  }

  function buildPopCard(pop) {
    const card = cloneTemplate("pop-card-template");
    card.dataset.callId = pop.callId;
    card.setAttribute("aria-labelledby", pop.uid + "-number");
    const el = {
      card: card,
      status: card.querySelector('[data-testid="pop-status"]'),
      timer: part(card, "timer"),
      dismiss: part(card, "dismiss"),
      body: part(card, "body"),
    };
    const number = part(card, "number");
    number.id = pop.uid + "-number";
    number.textContent = pop.caller.number || "Hidden number";
    part(card, "cid").textContent = pop.caller.name && pop.caller.name !== pop.caller.number ? pop.caller.name : "";
    part(card, "queue").textContent = pop.queue ? "Queue " + pop.queue : "";
    el.dismiss.addEventListener("click", function () {
      removePop(pop, { immediate: false });
    });
    el.tickets = part(card, "tickets");
    pop.el = el;
    renderIvr(part(card, "ivr"), pop.ivr);
    renderSuggestions(pop, part(card, "suggestions"));
    renderPopBody(pop);
    renderPopStatus(pop);
    notifyPlugins("onPopBuilt", pop);
    return el;
  }

  /** What the caller did in the IVR before this call rang: the nodes, their keys, the article heard. */
  function renderIvr(section, ivr) {
    if (!ivr) return;
    const path = part(section, "ivr-path");
    path.replaceChildren();
    (Array.isArray(ivr.steps) ? ivr.steps : []).forEach(function (step) {
      if (!step || typeof step !== "object") return;
      const li = document.createElement("li");
      const keyed = text(step.input);
      li.textContent = text(step.node).replace(/_/g, " ") + (keyed ? " [" + keyed + "]" : "") + ": " + text(step.result).replace(/_/g, " ");
      path.append(li);
    });
    const article = part(section, "ivr-article");
    if (ivr.article && typeof ivr.article === "object") {
      article.textContent = "Heard article #" + text(ivr.article.id) + ": " + text(ivr.article.title);
      article.hidden = false;
    } else if (ivr.callback_requested) {
      article.textContent = "Asked for a callback";
      article.hidden = false;
    }
    section.hidden = false;
  }

  /** Knowledge-base answers for the caller's open tickets or IVR choice: title, the body on demand. */
  function renderSuggestions(pop, section) {
    const list = part(section, "suggestion-list");
    list.replaceChildren();
    pop.suggestions.forEach(function (item) {
      if (!item || typeof item !== "object") return;
      const details = document.createElement("details");
      details.className = "suggestion";
      details.dataset.testid = "suggestion";
      const summary = document.createElement("summary");
      summary.dataset.testid = "suggestion-title";
      summary.textContent = text(item.title);
      const body = document.createElement("p");
      body.className = "suggestion-body prose";
      body.dataset.testid = "suggestion-body";
      body.textContent = text(item.body);
      details.append(summary, body);
      let counted = false;
      details.addEventListener("toggle", function () {
        if (!details.open || counted || !Number.isInteger(item.article_id)) return;
        counted = true;
        // Reads rank the answers; a lost count is not worth bothering the agent with.
        api("POST", "/api/kb/articles/" + item.article_id + "/viewed", undefined, { quiet: true }).catch(
          function (err) {
            console.warn("could not count the read of article", item.article_id, err);
          }
        );
      });
      list.append(details);
    });
    section.hidden = list.children.length === 0;
  }

  /** The lower half of the card: the customer, or the unknown-caller block with its form. */
  function renderPopBody(pop) {
    const body = pop.el.body;
    body.replaceChildren(pop.customer ? buildCustomer(pop) : buildUnknown(pop));
    pop.el.card.dataset.tier = pop.customer ? tierOf(pop.customer.tier) : "unknown";
  }

  function buildCustomer(pop) {
    const customer = pop.customer;
    const now = new Date();
    const root = cloneTemplate("customer-template");
    const name = root.querySelector('[data-testid="customer-name"]');
    name.textContent = text(customer.name) || "Unnamed customer";
    name.tabIndex = -1; // focus target after the agent creates the customer
    root.querySelector('[data-testid="customer-tier"]').replaceWith(tierBadge(customer.tier, "customer-tier"));
    part(root, "birthday").hidden = !isBirthdayToday(customer.birthday, now);
    part(root, "customer-no").textContent = text(customer.customer_no) || "—";
    part(root, "email").textContent = text(customer.email) || "—";
    const phones = Array.isArray(customer.phones) ? customer.phones.map(text).filter(Boolean) : [];
    part(root, "phones").textContent = phones.length ? phones.join(", ") : "—";
    renderTimeline(part(root, "timeline"), part(root, "no-history"), pop.interactions, now);
    return root;
  }

  function renderTimeline(list, noneNote, interactions, now) {
    list.replaceChildren();
    interactions.forEach(function (item) {
      if (!item || typeof item !== "object") return;
      const li = document.createElement("li");
      li.className = "timeline-item";
      const when = document.createElement("time");
      when.className = "timeline-when";
      const date = parseTime(item.occurred_at);
      if (date) {
        when.dateTime = date.toISOString();
        when.title = FULL_FORMAT.format(date);
      }
      when.textContent = formatWhen(date, now);
      const channel = document.createElement("span");
      const channelName = text(item.channel).toLowerCase();
      channel.className = "timeline-channel";
      const symbol = Object.hasOwn(CHANNEL_ICON, channelName) ? CHANNEL_ICON[channelName] : "i-note";
      channel.append(icon(symbol), channelName || "note");
      const summary = document.createElement("span");
      summary.className = "timeline-summary";
      summary.textContent = text(item.summary);
      li.append(when, channel, summary);
      list.append(li);
    });
    noneNote.hidden = list.children.length > 0;
  }

  function buildUnknown(pop) {
    const root = cloneTemplate("unknown-template");
    const button = part(root, "new-customer");
    const form = part(root, "form");
    form.id = pop.uid + "-form";
    button.setAttribute("aria-controls", form.id);
    // Unique ids so each <label> points at its own input when several pops are open.
    form.querySelectorAll("[data-field]").forEach(function (input) {
      const field = input.dataset.field;
      input.id = pop.uid + "-" + field;
      form.querySelector('[data-for="' + field + '"]').htmlFor = input.id;
      form.querySelector('[data-error-for="' + field + '"]').id = pop.uid + "-" + field + "-error";
    });
    button.addEventListener("click", function () {
      openCustomerForm(pop, root);
    });
    part(root, "cancel").addEventListener("click", function () {
      closeCustomerForm(pop, root);
    });
    form.addEventListener("keydown", function (event) {
      if (event.key === "Escape") closeCustomerForm(pop, root);
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      submitCustomerForm(pop, root);
    });
    return root;
  }

  function openCustomerForm(pop, root) {
    const form = part(root, "form");
    const button = part(root, "new-customer");
    if (!form.hidden) {
      form.elements.name.focus();
      return;
    }
    form.reset();
    clearFormErrors(form);
    form.elements.phone.value = pop.caller.number;
    form.hidden = false;
    button.setAttribute("aria-expanded", "true");
    button.hidden = true;
    pop.formOpen = true;
    window.clearTimeout(pop.removeTimer); // never pull a half-typed form away from the agent
    renderPopStatus(pop);
    form.elements.name.focus();
  }

  function closeCustomerForm(pop, root) {
    const form = part(root, "form");
    const button = part(root, "new-customer");
    form.hidden = true;
    button.hidden = false;
    button.setAttribute("aria-expanded", "false");
    pop.formOpen = false;
    button.focus();
    // A card that finished while the form was open can now leave as it normally would.
    if (POP_STATUS[pop.status].fadeMs !== null) scheduleRemoval(pop);
  }

  function clearFormErrors(form) {
    const box = part(form, "form-error");
    if (box) {
      box.hidden = true;
      box.textContent = "";
    }
    form.querySelectorAll("[aria-invalid]").forEach(function (input) {
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    });
    form.querySelectorAll("[data-error-for]").forEach(function (note) {
      note.hidden = true;
      note.textContent = "";
    });
  }

  function showFieldError(form, field, problem) {
    const input = form.elements[field];
    const note = form.querySelector('[data-error-for="' + field + '"]');
    if (!input || !note) return false;
    note.textContent = text(problem);
    note.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", note.id);
    return true;
  }

  function showFormError(form, message) {
    const box = part(form, "form-error");
    box.textContent = text(message);
    box.hidden = !message;
  }

  /** Checks the browser can make before asking the server (which checks again). */
  function validateCustomerForm(form) {
    const problems = {};
    if (!form.elements.name.value.trim()) problems.name = "Enter the customer's name.";
    if (!form.elements.phone.value.trim()) problems.phone = "Enter a phone number.";
    if (form.elements.email.value.trim() && !form.elements.email.validity.valid) {
      problems.email = "Enter a valid email address, or leave it empty.";
    }
    return problems;
  }

  async function submitCustomerForm(pop, root) {
    const form = part(root, "form");
    const save = part(form, "save");
    if (save.disabled) return;
    clearFormErrors(form);
    const problems = validateCustomerForm(form);
    const fields = Object.keys(problems);
    if (fields.length) {
      fields.forEach(function (field) {
        showFieldError(form, field, problems[field]);
      });
      form.elements[fields[0]].focus();
      return;
    }
    const body = {
      name: form.elements.name.value.trim(),
      phone: form.elements.phone.value.trim(),
      tier: form.elements.tier.value,
    };
    const email = form.elements.email.value.trim();
    if (email) body.email = email;

    const session = state.session;
    save.disabled = true;
    save.textContent = "Creating…";
    form.setAttribute("aria-busy", "true");
    try {
      const result = await api("POST", "/api/customers", body);
      if (session !== state.session) return;
      pop.customer = result.customer;
      pop.interactions = [];
      pop.formOpen = false;
      renderPopBody(pop);
      renderPopStatus(pop);
      notifyPlugins("onPopCustomer", pop);
      pop.el.body.querySelector('[data-testid="customer-name"]').focus();
      announce("Customer " + text(result.customer && result.customer.name) + " created.");
      if (POP_STATUS[pop.status].fadeMs !== null) scheduleRemoval(pop);
    } catch (err) {
      if (session !== state.session || err.status === 401) return;
      showCustomerError(form, err);
    } finally {
      save.disabled = false;
      save.textContent = "Create customer";
      form.removeAttribute("aria-busy");
    }
  }

  function showCustomerError(form, err) {
    const details = err.details && typeof err.details === "object" ? err.details : {};
    let firstField = null;
    const unplaced = [];
    Object.keys(details).forEach(function (field) {
      if (showFieldError(form, field, details[field])) {
        firstField = firstField || field;
      } else {
        unplaced.push(text(details[field]));
      }
    });
    showFormError(form, [err.message].concat(unplaced).join(" "));
    // The first problem in reading order, not in the order the server listed them.
    (firstField ? form.querySelector('[aria-invalid="true"]') : part(form, "save")).focus();
  }

  /** Move a card to a new status: label, colours, timer, dismiss button, auto-removal. */
  function setPopStatus(pop, status) {
    if (pop.status === status) return;
    pop.status = status;
    renderPopStatus(pop);
    updateTitle();
    scheduleRemoval(pop);
  }

  function renderPopStatus(pop) {
    const meta = POP_STATUS[pop.status];
    pop.el.card.dataset.status = pop.status;
    pop.el.status.textContent = meta.label;
    pop.el.dismiss.hidden = !meta.dismissable;
    // A colleague's call: how long it rang for us says nothing useful.
    pop.el.timer.hidden = pop.status === "answered_elsewhere";
    renderPopTimer(pop, Date.now());
  }

  function renderPopTimer(pop, nowMs) {
    const meta = POP_STATUS[pop.status];
    if (meta.timer === "ring") {
      pop.el.timer.textContent = formatDuration((nowMs - pop.ringStartMs) / 1000);
      pop.el.timer.title = "Ringing for";
    } else if (meta.timer === "talk") {
      pop.el.timer.textContent = formatDuration((nowMs - (pop.talkStartMs || nowMs)) / 1000);
      pop.el.timer.title = "Talking for";
    }
    // Other statuses keep the last value: how long it rang before it was missed.
  }

  function scheduleRemoval(pop) {
    window.clearTimeout(pop.removeTimer);
    const fadeMs = POP_STATUS[pop.status].fadeMs;
    if (fadeMs === null || pop.formOpen || pop.hold) return;
    pop.removeTimer = window.setTimeout(function () {
      removePop(pop, { immediate: false });
    }, fadeMs);
  }

  /** Take a card off the screen (fading unless immediate) and out of the state. */
  function removePop(pop, options) {
    window.clearTimeout(pop.removeTimer);
    if (state.pops.get(pop.callId) === pop) state.pops.delete(pop.callId);
    const card = pop.el.card;
    // Keyboard users must not be left focused on an element that vanished.
    if (card.contains(document.activeElement)) dom.popsHeading.focus();
    updateTitle();
    const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    if (options.immediate || reduceMotion) {
      card.remove();
      renderEmptyState();
      return;
    }
    card.classList.add("pop-card--leaving");
    window.setTimeout(function () {
      card.remove();
      renderEmptyState();
    }, 400);
  }

  function clearPops() {
    state.pops.forEach(function (pop) {
      window.clearTimeout(pop.removeTimer);
    });
    state.pops.clear();
    dom.popList.replaceChildren();
    renderEmptyState();
  }

  /**
   * Make sure a new card at the top is seen. Scroll anchoring would otherwise keep the old
   * view and leave the new call off-screen; but never scroll away from a field being typed in.
   */
  function revealNewPop() {
    const list = dom.popList;
    if (list.scrollTop < 8) return;
    const active = document.activeElement;
    if (active && list.contains(active) && active.matches("input, select, textarea")) {
      dom.newAbove.hidden = false;
      return;
    }
    scrollPopsToTop();
  }

  function scrollPopsToTop() {
    const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    dom.popList.scrollTo({ top: 0, behavior: reduceMotion ? "auto" : "smooth" });
    dom.newAbove.hidden = true;
  }

  function renderEmptyState() {
    dom.popEmpty.hidden = dom.popList.children.length > 0;
  }

  /** The tab title shows ringing calls so an agent in another window notices them. */
  function updateTitle() {
    if (dom.desktopView.hidden) return;
    let ringing = 0;
    state.pops.forEach(function (pop) {
      if (pop.status === "ringing") ringing += 1;
    });
    document.title = ringing ? "(" + ringing + ") Ringing · Hotline" : "Hotline";
  }

  /** Once a second: live counters. */
  function tick() {
    const nowMs = Date.now();
    state.pops.forEach(function (pop) {
      renderPopTimer(pop, nowMs);
    });
    notifyPlugins("onTick", nowMs);
  }

  // ---------------------------------------------------------------- today's calls

  /**
   * Re-fetch the table shortly (bursts of call_ended collapse into one request). When
   * `expectCallId` is given and the answer lacks it, retry a little later.
   */
  function refreshTodayCallsSoon(expectCallId) {
    window.clearTimeout(state.todayTimer);
    state.todayTimer = window.setTimeout(function () {
      loadTodayCalls(expectCallId, 0);
    }, TODAY_REFRESH_DEBOUNCE_MS);
  }

  async function loadTodayCalls(expectCallId, attempt) {
    const session = state.session;
    const request = ++state.todayRequest;
    dom.todayTable.setAttribute("aria-busy", "true");
    try {
      const result = await api("GET", "/api/calls/today");
      if (session !== state.session || request !== state.todayRequest) return; // a newer one is coming
      const calls = Array.isArray(result.calls) ? result.calls : [];
      state.todayCalls = calls;
      renderTodayCalls(calls);
      const found = calls.some(function (call) {
        return text(call.call_id) === expectCallId;
      });
      const nextDelay = TODAY_RETRY_DELAYS_MS[attempt || 0];
      if (expectCallId && !found && nextDelay !== undefined) {
        state.todayTimer = window.setTimeout(function () {
          loadTodayCalls(expectCallId, (attempt || 0) + 1);
        }, nextDelay);
      }
    } catch (err) {
      if (session !== state.session || request !== state.todayRequest || err.status === 401) return;
      showTodayError(err.message);
    } finally {
      if (request === state.todayRequest) dom.todayTable.removeAttribute("aria-busy");
    }
  }

  function showTodayError(message) {
    dom.todayErrorText.textContent = "Today's calls could not be loaded. " + text(message);
    dom.todayError.hidden = false;
  }

  function renderTodayCalls(calls) {
    const rows = calls.map(buildCallRow);
    dom.todayBody.replaceChildren.apply(dom.todayBody, rows);
    dom.todayEmpty.hidden = calls.length > 0;
    dom.todayError.hidden = true;
    renderTodaySummary(calls);
  }

  function renderTodaySummary(calls) {
    let answered = 0;
    let missed = 0;
    calls.forEach(function (call) {
      if (call.outcome === "answered") answered += 1;
      else missed += 1;
    });
    dom.todaySummary.replaceChildren(
      summaryItem(answered, "answered", "ok"),
      summaryItem(missed, "missed", missed ? "warn" : "muted")
    );
  }

  function summaryItem(count, label, tone) {
    const item = document.createElement("span");
    item.className = "summary-item summary-item--" + tone;
    const strong = document.createElement("strong");
    strong.textContent = String(count);
    item.append(strong, " " + label);
    return item;
  }

  function buildCallRow(call) {
    const tr = document.createElement("tr");
    tr.dataset.callId = text(call.call_id);
    tr.dataset.outcome = text(call.outcome);
    tr.append(
      timeCell(call.started_at),
      callerCell(call),
      tierCell(call.customer),
      queueCell(call.queue),
      outcomeCell(call.outcome),
      textCell(formatDuration(call.wait_s), "num"),
      textCell(call.outcome === "answered" ? formatDuration(call.talk_s) : "—", "num")
    );
    return tr;
  }

  function textCell(value, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = value;
    return td;
  }

  function queueCell(queue) {
    const td = textCell(text(queue) || "—");
    td.title = text(queue);
    return td;
  }

  function timeCell(iso) {
    const td = document.createElement("td");
    const date = parseTime(iso);
    if (!date) return td;
    const time = document.createElement("time");
    time.dateTime = date.toISOString();
    time.title = FULL_FORMAT.format(date);
    time.textContent = CLOCK_FORMAT.format(date);
    td.append(time);
    return td;
  }

  function callerCell(call) {
    const td = document.createElement("td");
    td.className = "caller-cell";
    const number = text(call.caller_number);
    const name = text(call.customer && call.customer.name) || text(call.caller_name);
    const main = document.createElement("span");
    main.className = "caller-main";
    main.textContent = name || number || "Hidden number";
    td.append(main);
    td.title = main.textContent; // long names are cut with an ellipsis; hover shows them whole
    if (name && number) {
      const sub = document.createElement("span");
      sub.className = "caller-sub";
      sub.textContent = number;
      td.append(sub);
      td.title += " · " + number;
    }
    return td;
  }

  /** Only VIP and gold get a badge in the table, so the eye finds them in a long day. */
  function tierCell(customer) {
    const td = document.createElement("td");
    if (!customer || typeof customer !== "object") {
      td.className = "muted";
      td.textContent = "—";
    } else if (tierOf(customer.tier) === "standard") {
      td.className = "tier-plain";
      td.textContent = TIER_LABEL.standard;
    } else {
      td.append(tierBadge(customer.tier));
    }
    return td;
  }

  function outcomeCell(outcome) {
    const td = document.createElement("td");
    const pill = document.createElement("span");
    const key = text(outcome);
    const known = Object.hasOwn(OUTCOME_LABEL, key);
    pill.className = "pill pill--" + (known ? key : "other");
    pill.textContent = known ? OUTCOME_LABEL[key] : key || "Unknown";
    td.append(pill);
    return td;
  }

  // ---------------------------------------------------------------- start-up

  function lookUpDom() {
    const byId = function (id) {
      return document.getElementById(id);
    };
    Object.assign(dom, {
      announcer: byId("announcer"),
      loginView: byId("login-view"),
      loginForm: byId("login-form"),
      loginError: byId("login-error"),
      loginSubmit: byId("login-submit"),
      username: byId("username"),
      password: byId("password"),
      desktopView: byId("desktop-view"),
      agentName: byId("agent-name"),
      agentRole: byId("agent-role"),
      supervisorNav: byId("supervisor-nav"),
      connection: byId("connection-status"),
      connectionLabel: byId("connection-status").querySelector(".connection-label"),
      signOut: byId("sign-out"),
      banner: byId("reconnect-banner"),
      bannerText: byId("reconnect-text"),
      popsHeading: byId("pops-heading"),
      popList: byId("pop-list"),
      newAbove: byId("new-call-above"),
      popEmpty: byId("pop-empty"),
      todayTable: byId("today-calls"),
      todayBody: byId("today-calls").tBodies[0],
      todaySummary: byId("today-summary"),
      todayEmpty: byId("today-empty"),
      todayError: byId("today-error"),
      todayErrorText: byId("today-error-text"),
      todayRetry: byId("today-retry"),
    });
    dom.popsHeading.tabIndex = -1;
  }

  function bindHandlers() {
    dom.loginForm.addEventListener("submit", onLoginSubmit);
    dom.signOut.addEventListener("click", onSignOut);
    dom.newAbove.addEventListener("click", scrollPopsToTop);
    dom.popList.addEventListener("scroll", function () {
      if (dom.popList.scrollTop < 8) dom.newAbove.hidden = true;
    }, { passive: true });
    dom.todayRetry.addEventListener("click", function () {
      loadTodayCalls();
    });
    window.HotlinePage.credentials.on("ended", onEndedElsewhere);
    window.HotlinePage.credentials.on("handedOver", onHandedOver);
  }

  function start() {
    lookUpDom();
    bindHandlers();
    findSession();
  }

  // ---------------------------------------------------------------- plugins (tickets.js)

  const plugins = [];

  /** Call `hook` on every registered plugin; one plugin's bug must not break the desktop. */
  function notifyPlugins(hook) {
    const args = Array.prototype.slice.call(arguments, 1);
    plugins.forEach(function (plugin) {
      if (typeof plugin[hook] !== "function") return;
      try {
        plugin[hook].apply(plugin, args);
      } catch (err) {
        console.error("Hotline: plugin hook " + hook + " failed", err);
      }
    });
  }

  /** Keep a card on screen (hold=true) or let it leave as its status says (hold=false). */
  function holdPop(pop, hold) {
    pop.hold = Boolean(hold);
    if (pop.hold) window.clearTimeout(pop.removeTimer);
    else if (state.pops.get(pop.callId) === pop && POP_STATUS[pop.status].fadeMs !== null) scheduleRemoval(pop);
  }

  // What tickets.js shares with this file: an explicit, small surface.
  window.HotlineDesk = Object.freeze({
    api: api,
    ApiError: ApiError,
    text: text,
    parseTime: parseTime,
    formatWhen: formatWhen,
    tierOf: tierOf,
    tierBadge: tierBadge,
    icon: icon,
    cloneTemplate: cloneTemplate,
    part: part,
    announce: announce,
    renderTimeline: renderTimeline,
    clearFormErrors: clearFormErrors,
    showFieldError: showFieldError,
    holdPop: holdPop,
    /** Call `hook` on every plugin (tickets.js tells the others of its views: onTicketView, onCustomerView). */
    notify: notifyPlugins,
    fullFormat: FULL_FORMAT,
    get state() {
      return state;
    },
    /** Register an object with hooks: onDesktopStart(agent), onSessionEnd(), onReconnect(),
        onEvent(type, data), onFrame(frame) (every frame: hello, snapshot, event), onPopBuilt(pop),
        onPopCustomer(pop), onTick(nowMs), onTicketView(root, ticket), onCustomerView(root, customer). */
    register: function (plugin) {
      plugins.push(plugin);
      // Registered after the desktop started (a resumed session answered quickly).
      if (state.agent && !dom.desktopView.hidden && typeof plugin.onDesktopStart === "function") {
        plugin.onDesktopStart(state.agent);
      }
    },
  });

  // The one global: enough for browser tests and a developer console, nothing more.
  window.Hotline = Object.freeze({
    handleFrame: live.receive,
    renderTodayCalls: renderTodayCalls,
    get state() {
      return state;
    },
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
