/*
 * The live stream of the staff pages (desktop, alarms, wallboard): one reconnecting client for
 * the agent WebSocket `/ws?token=…` (web_agent/app.py, hub.py, stream.py).
 *
 * The server numbers every frame of a stream. It opens with `hello` (the stream's scope), then
 * either a `snapshot` (a new stream) or the frames this page missed (a resume: the page reconnects
 * with `?scope=&since=<last seq seen>`). Frames are handled once each, in order. A dropped socket
 * is retried with a growing, jittered delay (so a restarted server is not hit by every browser at
 * the same moment); an application "ping" (answered `{"op":"pong"}`) finds a socket that went
 * silent (laptop lid, NAT drop), which a browser cannot see otherwise. Close codes 4001/4002 mean
 * the token is missing or no longer valid: the client stops and tells the page (no retry loop).
 * Load it after page.js. Plain browser JavaScript, no build step.
 */
(function () {
  "use strict";

  const FIRST_RETRY_MS = 1000;
  const MAX_RETRY_MS = 15000;
  const WATCH_EVERY_MS = 1000;
  // A connect attempt into a black hole can hang for minutes; give up and retry instead.
  const CONNECT_LIMIT_MS = 10000;
  // Silent this long: ask the server ("ping"); a ping unanswered this long: the socket is dead.
  const PING_AFTER_SILENCE_MS = 25000;
  const PONG_LIMIT_MS = 20000;
  const CLOSE_TOKEN_MISSING = 4001;
  const CLOSE_TOKEN_INVALID = 4002;
  const CLOSE_SILENT = 4000;
  /** What a page shows for each status. */
  const LABEL = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", offline: "Offline" };

  /**
   * A stream client for this page. config:
   *   token()                   the staff token to connect with;
   *   onStatus(status, client)  "connecting" | "live" | "reconnecting" | "offline" (see LABEL);
   *   onHello(frame, {resumed, reconnected})  the socket is live; resumed: no frame was lost,
   *                             reconnected: not the first socket of this start;
   *   onSnapshot(data, frame)   a new stream's state (the page replaces what it shows);
   *   events: {type: handler(data, frame)}   the event frames, by type;
   *   onOtherEvent(type, data, frame)        event types without a handler;
   *   onFrame(frame)            every frame handled (hello, snapshot, event), after its handler;
   *   onEnded()                 the server refused the token (4001/4002); the client has stopped.
   * Returns {start, stop, receive, status, scope, lastSeq, socket, everConnected}.
   */
  function stream(config) {
    const s = {
      running: false,
      socket: null,
      status: "offline",
      scope: null,
      lastSeq: 0,
      everConnected: false,
      retryCeilingMs: FIRST_RETRY_MS,
      retryTimer: null,
      watchTimer: null,
      lastFrameAtMs: 0,
      pingSentAtMs: 0,
    };
    const client = {
      start: start,
      stop: stop,
      receive: receive,
      get status() { return s.status; },
      get scope() { return s.scope; },
      get lastSeq() { return s.lastSeq; },
      get socket() { return s.socket; },
      get everConnected() { return s.everConnected; },
    };

    function setStatus(status) {
      s.status = status;
      if (config.onStatus) config.onStatus(status, client);
    }

    function url(token) {
      const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
      let address = scheme + "//" + window.location.host + "/ws?token=" + encodeURIComponent(token);
      if (s.scope) address += "&scope=" + encodeURIComponent(s.scope) + "&since=" + s.lastSeq;
      return address;
    }

    /** Open the stream (a new one: no scope is kept from an earlier start). */
    function start() {
      if (s.running) return;
      s.running = true;
      s.watchTimer = window.setInterval(watch, WATCH_EVERY_MS);
      connect();
    }

    /** Close the socket and forget the stream: no retry, no scope (sign-out, a page leaving). */
    function stop() {
      s.running = false;
      window.clearTimeout(s.retryTimer);
      window.clearInterval(s.watchTimer);
      s.retryTimer = null;
      s.watchTimer = null;
      const socket = s.socket;
      s.socket = null; // its close event, whenever it comes, is then ignored
      if (socket) socket.close(1000, "signed out");
      s.scope = null;
      s.lastSeq = 0;
      s.everConnected = false;
      s.retryCeilingMs = FIRST_RETRY_MS;
      setStatus("offline");
    }

    function connect() {
      s.retryTimer = null;
      if (!s.running) return;
      if (s.status === "offline") setStatus("connecting");
      let socket;
      try {
        socket = new WebSocket(url(config.token()));
      } catch (err) {
        retryLater();
        return;
      }
      s.socket = socket;
      s.lastFrameAtMs = Date.now();
      s.pingSentAtMs = 0;
      socket.addEventListener("message", function (event) {
        if (socket !== s.socket) return; // a frame from a socket already given up on
        s.lastFrameAtMs = Date.now();
        let frame;
        try {
          frame = JSON.parse(event.data);
        } catch (err) {
          console.warn("Hotline: ignoring a frame that is not JSON");
          return;
        }
        receive(frame);
      });
      socket.addEventListener("close", function (event) {
        if (socket !== s.socket) return;
        s.socket = null;
        if (event.code === CLOSE_TOKEN_MISSING || event.code === CLOSE_TOKEN_INVALID) {
          stop();
          if (config.onEnded) config.onEnded();
          return;
        }
        retryLater();
      });
    }

    /** The next attempt after a random part of a doubling ceiling (0.5–1 s, 1–2 s … 7.5–15 s). */
    function retryLater() {
      if (!s.running || s.retryTimer) return;
      const ceiling = s.retryCeilingMs;
      s.retryCeilingMs = Math.min(ceiling * 2, MAX_RETRY_MS);
      setStatus("reconnecting");
      s.retryTimer = window.setTimeout(connect, ceiling / 2 + Math.random() * (ceiling / 2));
    }

    /** Give up on a socket that never opened or went silent, and retry. */
    function abandon() {
      const socket = s.socket;
      s.socket = null;
      if (socket) socket.close(CLOSE_SILENT, "silent");
      retryLater();
    }

    function watch() {
      const socket = s.socket;
      if (!socket) return;
      const nowMs = Date.now();
      if (socket.readyState === WebSocket.CONNECTING) {
        if (nowMs - s.lastFrameAtMs > CONNECT_LIMIT_MS) abandon();
        return;
      }
      if (socket.readyState !== WebSocket.OPEN) return;
      const pingOutstanding = s.pingSentAtMs > s.lastFrameAtMs;
      if (pingOutstanding && nowMs - s.pingSentAtMs > PONG_LIMIT_MS) {
        s.retryCeilingMs = FIRST_RETRY_MS; // it worked until now, so the first retry comes quickly
        abandon();
      } else if (!pingOutstanding && nowMs - s.lastFrameAtMs >= PING_AFTER_SILENCE_MS) {
        s.pingSentAtMs = nowMs;
        socket.send("ping");
      }
    }

    /** Handle one server frame (hello, snapshot, event); an event already handled is skipped. */
    function receive(frame) {
      if (!frame || typeof frame !== "object") return;
      if (frame.op === "hello") {
        const resumed = frame.resumed === true && s.scope !== null && frame.scope === s.scope;
        const reconnected = s.everConnected;
        s.scope = typeof frame.scope === "string" ? frame.scope : null;
        if (!resumed) s.lastSeq = Number(frame.seq) || 0;
        s.everConnected = true;
        s.retryCeilingMs = FIRST_RETRY_MS;
        setStatus("live");
        if (config.onHello) config.onHello(frame, { resumed: resumed, reconnected: reconnected });
      } else if (frame.op === "snapshot") {
        s.lastSeq = Number(frame.seq) || 0;
        if (config.onSnapshot) config.onSnapshot(frame.data && typeof frame.data === "object" ? frame.data : {}, frame);
      } else if (frame.op === "event") {
        const seq = Number(frame.seq);
        if (!Number.isInteger(seq) || seq <= s.lastSeq) return; // replayed after a resume and already handled
        s.lastSeq = seq;
        if (frame.data && typeof frame.data === "object") dispatch(frame);
      } else {
        return; // "pong" and anything unknown: only a sign that the socket is alive
      }
      if (config.onFrame) config.onFrame(frame);
    }

    function dispatch(frame) {
      const events = config.events || {};
      // hasOwn: a type such as "constructor" must not reach Object.prototype.
      if (Object.hasOwn(events, frame.type)) events[frame.type](frame.data, frame);
      else if (config.onOtherEvent) config.onOtherEvent(frame.type, frame.data, frame);
    }

    // Back online after a network drop: try at once instead of waiting out the delay.
    window.addEventListener("online", function () {
      if (!s.running || !s.retryTimer) return;
      window.clearTimeout(s.retryTimer);
      s.retryCeilingMs = FIRST_RETRY_MS;
      connect();
    });

    return client;
  }

  window.HotlinePage.stream = stream;
  window.HotlinePage.STREAM_LABEL = LABEL;
})();
