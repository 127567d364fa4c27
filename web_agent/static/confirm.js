/*
 * The customer's confirm page: shows the resolved request and records "solved" (closed) or
 * "still need help" (reopened, with a note). No sign-in and no agent data: the only key is
 * the token in the URL fragment, sent in a POST body and never in a URL.
 * Server values are written with textContent only.
 */
(function () {
  "use strict";

  const INVALID_LINK =
    "This link is not valid any more: it was already used, it expired, or it was copied incompletely. " +
    "If you still need help, call us or reply to the email and we will pick it up.";
  const NETWORK_DOWN = "We could not reach our service. Check your connection and try again.";

  const dom = {};
  let token = "";
  let ticket = null;
  let busy = false;

  const byId = window.HotlinePage.byId;
  const text = window.HotlinePage.text;

  /** One POST without sign-in: the page never sends cookies, and the token only in the body. */
  function post(path, body) {
    return window.HotlinePage.request("POST", path, body, { credentials: "omit", networkMessage: NETWORK_DOWN });
  }

  /** A used, expired or unknown token: the server answers 4xx other than a validation problem. */
  function isInvalidLink(err) {
    return err.status === 404 || err.status === 410 || err.status === 409 || err.status === 403 ||
      /confirm|token/.test(text(err.errorId));
  }

  function showOutcome(message, tone) {
    dom.loading.hidden = true;
    dom.outcome.textContent = message;
    dom.outcome.dataset.tone = tone || "ok";
    dom.outcome.hidden = false;
    dom.outcome.focus();
  }

  function showError(message) {
    dom.error.textContent = message;
    dom.error.hidden = false;
  }

  async function lookUp() {
    try {
      token = decodeURIComponent(window.location.hash.replace(/^#/, "")).trim();
    } catch (err) {
      token = ""; // a mangled link (stray %): treated like any other invalid link
    }
    if (!token) {
      showOutcome(INVALID_LINK, "error");
      return;
    }
    try {
      const result = await post("/api/confirm/lookup", { token: token });
      ticket = result.ticket || {};
      render();
    } catch (err) {
      if (err.status !== 0 && isInvalidLink(err)) showOutcome(INVALID_LINK, "error");
      else showOutcome(err.message + " Reload the page to try again.", "error");
    }
  }

  function render() {
    dom.loading.hidden = true;
    dom.number.textContent = "Request #" + text(ticket.number);
    dom.subject.textContent = text(ticket.subject);
    dom.greeting.textContent = ticket.customer_name
      ? "Dear " + text(ticket.customer_name) + ", we resolved your request."
      : "We resolved your request.";
    dom.resolution.textContent = text(ticket.resolution);
    dom.request.hidden = false;
    document.title = "Request #" + text(ticket.number) + " · Hotline";
    dom.yes.focus();
  }

  function setBusy(value) {
    busy = value;
    [dom.yes, dom.no, dom.send, dom.cancel].forEach(function (b) {
      b.disabled = value;
    });
  }

  async function answer(accepted, note) {
    if (busy) return;
    dom.error.hidden = true;
    setBusy(true);
    try {
      const body = { token: token, accepted: accepted };
      if (note) body.note = note;
      await post("/api/confirm", body);
      dom.request.hidden = true;
      showOutcome(
        accepted
          ? "Thank you! Request #" + text(ticket.number) + " is now closed. We are glad it works."
          : "Thank you. We reopened request #" + text(ticket.number) +
              " and your handler has your message; they will contact you soon.",
        "ok"
      );
    } catch (err) {
      setBusy(false);
      if (err.status === 422) {
        if (!accepted) showNoteError(err.message);
        else showError(err.message);
      } else if (err.status !== 0 && isInvalidLink(err)) {
        dom.request.hidden = true;
        showOutcome(INVALID_LINK, "error");
      } else {
        showError(err.message);
      }
    }
  }

  function showNoteError(message) {
    dom.noteError.textContent = message;
    dom.noteError.hidden = false;
    dom.note.setAttribute("aria-invalid", "true");
    dom.note.setAttribute("aria-describedby", "reopen-note-error");
    dom.note.focus();
  }

  function openReopen() {
    dom.form.hidden = false;
    dom.no.setAttribute("aria-expanded", "true");
    dom.buttons.hidden = true;
    dom.note.focus();
  }

  function closeReopen() {
    dom.form.hidden = true;
    dom.buttons.hidden = false;
    dom.no.setAttribute("aria-expanded", "false");
    dom.no.focus();
  }

  function start() {
    Object.assign(dom, {
      loading: byId("confirm-loading"),
      request: byId("confirm-request"),
      number: byId("confirm-number"),
      subject: byId("confirm-title"),
      greeting: byId("confirm-greeting"),
      resolution: byId("confirm-resolution"),
      error: byId("confirm-error"),
      buttons: byId("confirm-buttons"),
      yes: byId("confirm-yes"),
      no: byId("confirm-no"),
      form: byId("reopen-form"),
      note: byId("reopen-note"),
      noteError: byId("reopen-note-error"),
      cancel: byId("reopen-cancel"),
      send: byId("reopen-send"),
      outcome: byId("confirm-outcome"),
    });
    dom.yes.addEventListener("click", function () {
      answer(true, "");
    });
    dom.no.addEventListener("click", openReopen);
    dom.cancel.addEventListener("click", closeReopen);
    dom.form.addEventListener("keydown", function (event) {
      if (event.key === "Escape") closeReopen();
    });
    dom.form.addEventListener("submit", function (event) {
      event.preventDefault();
      const note = dom.note.value.trim();
      dom.noteError.hidden = true;
      dom.note.removeAttribute("aria-invalid");
      if (!note) {
        showNoteError("Tell us in a few words what is still not working, so your handler can pick it up.");
        return;
      }
      answer(false, note);
    });
    lookUp();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
