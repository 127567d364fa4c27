/*
 * What the pages share (desktop, reports, alarms, campaigns, knowledge base, portal, confirm):
 * element helpers, one JSON request with a deadline that turns the server's
 * `{error_id, message, details}` answers into a readable error, and the sign-in block of the
 * staff pages (token in sessionStorage for this tab, "who am I", sign-out on an ended session).
 * Load it before the page's own script. Plain browser JavaScript, no build step.
 */
(function () {
  "use strict";

  const TOKEN_KEY = "hotline.token";
  const REQUEST_TIMEOUT_MS = 15000;
  const HOTLINE_DOWN = "Hotline is not reachable. Check the connection and try again.";
  const SESSION_ENDED = "Your session ended; please sign in again.";

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
   * The sign-in block of a staff page: `#signin` with `#signin-form`, `#signin-username`,
   * `#signin-password`, `#signin-message`, the signed-in view `config.view` and `#who`.
   * config: view (id), roles (allowed roles; all when absent), refusal (message for other roles),
   * who(agent) (topbar text), onSignedIn(agent) (may be async), onSignedOut(), withDetails.
   * Returns {start, api, signOut, agent, token}; call start() once the page is loaded.
   */
  function session(config) {
    const s = { token: sessionStorage.getItem(TOKEN_KEY), agent: null };

    function allowed(agent) {
      return !config.roles || config.roles.indexOf(agent.role) >= 0;
    }

    function showSignIn(message) {
      byId(config.view).hidden = true;
      byId("signin").hidden = false;
      const note = byId("signin-message");
      note.textContent = text(message);
      note.hidden = !message;
      byId("signin-username").focus();
    }

    function signOut(message) {
      sessionStorage.removeItem(TOKEN_KEY);
      s.token = null;
      s.agent = null;
      if (config.onSignedOut) config.onSignedOut();
      showSignIn(message);
    }

    /** The API with this tab's token; a 401 on a call made with it ends the session. */
    async function api(method, path, body, contentType) {
      const sentWithToken = Boolean(s.token);
      try {
        return await request(method, path, body, { token: s.token, contentType: contentType, withDetails: config.withDetails });
      } catch (err) {
        if (err.status === 401 && sentWithToken) signOut(SESSION_ENDED);
        throw err;
      }
    }

    async function enter(agent) {
      s.agent = agent;
      byId("who").textContent = config.who ? config.who(agent) : text(agent.display_name || agent.username);
      byId("signin").hidden = true;
      byId(config.view).hidden = false;
      if (config.onSignedIn) await config.onSignedIn(agent);
    }

    async function signIn(event) {
      event.preventDefault();
      try {
        const r = await request("POST", "/api/auth/login", {
          username: byId("signin-username").value.trim(),
          password: byId("signin-password").value,
        });
        if (!allowed(r.agent)) throw new Error(config.refusal);
        s.token = r.token;
        sessionStorage.setItem(TOKEN_KEY, r.token);
        await enter(r.agent);
      } catch (err) {
        if (s.token) signOut(err.message);
        else showSignIn(err.message);
      }
    }

    async function start() {
      byId("signin-form").addEventListener("submit", signIn);
      if (!s.token) {
        showSignIn("");
        return;
      }
      try {
        const me = await api("GET", "/api/me");
        if (!allowed(me.agent)) throw new Error(config.refusal);
        await enter(me.agent);
      } catch (err) {
        signOut(err.status === 401 ? "" : err.message);
      }
    }

    return {
      start: start,
      api: api,
      signOut: signOut,
      agent: function () { return s.agent; },
      token: function () { return s.token; },
    };
  }

  window.HotlinePage = {
    SESSION_ENDED: SESSION_ENDED,
    byId: byId,
    text: text,
    RequestError: RequestError,
    request: request,
    session: session,
  };
})();
