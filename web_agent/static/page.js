/*
 * What the pages share (desktop, reports, alarms, wallboard, campaigns, knowledge base, portal,
 * confirm): element helpers, one JSON request with a deadline that turns the server's
 * `{error_id, message, details}` answers into a readable error, the staff member's sign-in
 * (`credentials`: one token for every Hotline tab of this browser) and the sign-in block of the
 * staff pages ("who am I", the form, the end of a session). Load it before the page's own script.
 * Plain browser JavaScript, no build step.
 */
(function () {
  "use strict";

  const TOKEN_KEY = "hotline.token";
  const CHANNEL_NAME = "hotline.sign-in";
  // How long a tab without a token waits for another tab's answer before it shows its sign-in
  // form; a later answer still signs it in.
  const HANDOVER_WAIT_MS = 250;
  const REQUEST_TIMEOUT_MS = 15000;
  const HOTLINE_DOWN = "Hotline is not reachable. Check the connection and try again.";
  const SESSION_ENDED = "Your session ended; please sign in again.";
  const SIGNED_OUT_ELSEWHERE = "You signed out in another Hotline tab.";

  function byId(id) {
    return document.getElementById(id);
  }

  function text(value) {
    return value === null || value === undefined ? "" : String(value);
  }

  /** A request the server refused (status and stable error id) or that never reached it (status 0). */
  class RequestError extends Error {
    constructor(status, errorId, message, details) {
      super(message);
      this.status = status;
      this.errorId = errorId;
      this.details = details || {};
    }
  }

  /**
   * One request to the API; resolves to the JSON answer (null for 204, {} for an empty answer).
   * options: token (bearer), contentType (send body as it is, e.g. a CSV file), credentials,
   * networkMessage (what to say when the server cannot be reached), withDetails (append the
   * per-field problems to the message, for pages that show no field errors of their own).
   */
  async function request(method, path, body, options) {
    const o = options || {};
    const headers = { Accept: "application/json" };
    if (o.token) headers.Authorization = "Bearer " + o.token;
    let payload;
    if (body !== undefined) {
      headers["Content-Type"] = o.contentType || "application/json";
      payload = o.contentType ? body : JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, {
        method: method,
        headers: headers,
        body: payload,
        cache: "no-store",
        credentials: o.credentials || "same-origin",
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw new RequestError(0, "network", o.networkMessage || HOTLINE_DOWN);
    }
    if (response.status === 204) return null;
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null; // a body that is not JSON (a proxy's error page)
    }
    if (response.ok) return data || {};
    const details = (data && data.details) || {};
    let message = (data && data.message) || "Something went wrong (HTTP " + response.status + "). Please try again.";
    if (o.withDetails && Object.keys(details).length) message += " (" + Object.values(details).join("; ") + ")";
    throw new RequestError(response.status, (data && data.error_id) || "http." + response.status, message, details);
  }

  /**
   * The staff member's sign-in, one for every Hotline tab of this browser.
   *
   * The token lives in this tab's sessionStorage (it survives a reload, and dies with the tab, so
   * closing the browser on a shared desk signs out). A tab opened without one (a new tab from the
   * top bar, a wallboard window) asks the other Hotline tabs over a BroadcastChannel and takes the
   * first answer. A token that ends (signed out, revoked, expired) is announced the same way, so
   * every tab that holds it goes back to its sign-in at once. Only same-origin pages share the
   * channel; the token is never put in a URL (but the WebSocket's) nor written to the console.
   */
  const credentials = (function () {
    let channel = null;
    let askId = null; // this tab's open question "who is signed in?"; the first answer settles it
    let waiting = null; // resolves find() while it waits for that answer
    const listeners = { handedOver: [], ended: [] };

    function open() {
      if (!channel && typeof BroadcastChannel === "function") {
        channel = new BroadcastChannel(CHANNEL_NAME);
        channel.addEventListener("message", onMessage);
      }
      return channel;
    }

    function token() {
      return sessionStorage.getItem(TOKEN_KEY);
    }

    /** This tab signed in (or was handed a token): keep it, and answer the tabs that ask. */
    function keep(value) {
      sessionStorage.setItem(TOKEN_KEY, value);
      open();
    }

    /** This tab forgets the token (e.g. a page that refuses the role); the other tabs keep it. */
    function drop() {
      sessionStorage.removeItem(TOKEN_KEY);
    }

    /**
     * The token is over (reason "signed_out": the person signed out here; "ended": the server
     * refused it): forget it here and in every other tab that holds it.
     */
    function end(reason) {
      const value = token();
      drop();
      if (value && open()) channel.postMessage({ kind: "ended", token: value, reason: reason });
    }

    /** This tab's token, or the one another tab of this browser hands over; null when none answers in time. */
    function find() {
      const value = token();
      if (value || !open()) return Promise.resolve(value);
      const bytes = new Uint32Array(4);
      crypto.getRandomValues(bytes);
      askId = Array.from(bytes, function (n) { return n.toString(36); }).join("");
      return new Promise(function (resolve) {
        waiting = resolve;
        channel.postMessage({ kind: "ask", from: askId });
        window.setTimeout(function () {
          if (waiting !== resolve) return;
          waiting = null;
          resolve(null);
        }, HANDOVER_WAIT_MS);
      });
    }

    function onMessage(event) {
      const m = event.data;
      if (!m || typeof m !== "object") return;
      const mine = token();
      if (m.kind === "ask" && mine && typeof m.from === "string") {
        channel.postMessage({ kind: "token", to: m.from, token: mine });
      } else if (m.kind === "token" && askId !== null && m.to === askId && !mine && typeof m.token === "string" && m.token) {
        askId = null;
        keep(m.token);
        if (waiting) {
          const resolve = waiting;
          waiting = null;
          resolve(m.token);
        } else {
          notify("handedOver", m.token); // the answer came after the sign-in form was shown
        }
      } else if (m.kind === "ended" && mine && m.token === mine) {
        drop();
        notify("ended", m.reason === "signed_out" ? SIGNED_OUT_ELSEWHERE : SESSION_ENDED);
      }
    }

    function notify(kind, value) {
      listeners[kind].forEach(function (listener) {
        listener(value);
      });
    }

    /**
     * kind "handedOver": listener(token), another tab answered after find() gave up (this tab
     * already keeps it); kind "ended": listener(message), another tab ended the token this tab
     * holds (this tab already forgot it).
     */
    function on(kind, listener) {
      listeners[kind].push(listener);
      open();
    }

    return { token: token, keep: keep, drop: drop, end: end, find: find, on: on };
  })();

  /**
   * The sign-in block of a staff page: a sign-in view with a form (username, password, a message),
   * the signed-in view `config.view` and, when the page has one, the name in the top bar. The ids
   * default to `#signin`, `#signin-form`, `#signin-username`, `#signin-password`, `#signin-message`
   * and `#who`; config.ids overrides them ({signin, form, username, password, message, who}).
   * config: view (id), roles (allowed roles; all when absent), refusal (message for other roles),
   * who(agent) (top bar text), onSignedIn(agent) (may be async), onSignedOut(), withDetails.
   * Returns {start, api, end, agent, token}; call start() once the page is loaded.
   */
  function session(config) {
    const ids = Object.assign(
      { signin: "signin", form: "signin-form", username: "signin-username", password: "signin-password", message: "signin-message", who: "who" },
      config.ids
    );
    const s = { token: null, agent: null };

    function allowed(agent) {
      return !config.roles || config.roles.indexOf(agent.role) >= 0;
    }

    function showSignIn(message) {
      byId(config.view).hidden = true;
      byId(ids.signin).hidden = false;
      const note = byId(ids.message);
      note.textContent = text(message);
      note.hidden = !message;
      byId(ids.username).focus();
    }

    /** Leave the signed-in view; `forget` says what becomes of the token (credentials.drop or end). */
    function leave(message, forget) {
      forget();
      const wasIn = s.agent !== null;
      s.token = null;
      s.agent = null;
      const who = byId(ids.who);
      if (who) who.textContent = "";
      if (wasIn && config.onSignedOut) config.onSignedOut();
      showSignIn(message);
    }

    /** The token is over (revoked, expired): back to the sign-in here and in every tab holding it. */
    function end(message) {
      leave(message, function () {
        credentials.end("ended");
      });
    }

    /** The API with the staff token; a 401 on a call made with it ends the session. */
    async function api(method, path, body, contentType) {
      const sentWithToken = Boolean(s.token);
      try {
        return await request(method, path, body, { token: s.token, contentType: contentType, withDetails: config.withDetails });
      } catch (err) {
        if (err.status === 401 && sentWithToken) end(SESSION_ENDED);
        throw err;
      }
    }

    async function enter(agent) {
      s.agent = agent;
      const who = byId(ids.who);
      if (who) who.textContent = config.who ? config.who(agent) : text(agent.display_name || agent.username);
      byId(ids.signin).hidden = true;
      byId(config.view).hidden = false;
      if (config.onSignedIn) await config.onSignedIn(agent);
    }

    async function signIn(event) {
      event.preventDefault();
      try {
        const r = await request("POST", "/api/auth/login", {
          username: byId(ids.username).value.trim(),
          password: byId(ids.password).value,
        });
        if (!allowed(r.agent)) throw new Error(config.refusal);
        s.token = r.token;
        credentials.keep(r.token);
        await enter(r.agent);
      } catch (err) {
        if (s.token) leave(err.message, credentials.drop);
        else showSignIn(err.message);
      }
    }

    /** Enter with a token found in this tab or handed over by another: who is it, and may they see this page? */
    async function resume(token) {
      s.token = token;
      try {
        const me = await api("GET", "/api/me");
        if (!allowed(me.agent)) throw new Error(config.refusal);
        await enter(me.agent);
      } catch (err) {
        if (err.status === 401) showSignIn(""); // api() already ended the session
        else leave(err.message, credentials.drop);
      }
    }

    async function start() {
      byId(ids.form).addEventListener("submit", signIn);
      credentials.on("ended", function (message) {
        if (s.token) leave(message, credentials.drop);
      });
      credentials.on("handedOver", function (token) {
        if (!s.token) resume(token);
      });
      const token = await credentials.find();
      if (token) await resume(token);
      else showSignIn("");
    }

    return {
      start: start,
      api: api,
      end: end,
      agent: function () { return s.agent; },
      token: function () { return s.token; },
    };
  }

  window.HotlinePage = {
    SESSION_ENDED: SESSION_ENDED,
    credentials: credentials,
    byId: byId,
    text: text,
    RequestError: RequestError,
    request: request,
    session: session,
  };
})();
