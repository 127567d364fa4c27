/*
 * The customer portal: search the public answers, check a request's status with its number and
 * the email or phone given with it, and send a new request. No sign-in and no agent data.
 * Server values are written with textContent only.
 */
(function () {
  "use strict";

  const NETWORK_DOWN = "We could not reach our service. Check your connection and try again.";
  const $ = window.HotlinePage.byId;
  const text = window.HotlinePage.text;

  /** One request without sign-in: the portal never sends cookies or a token. */
  function call(method, path, body) {
    return window.HotlinePage.request(method, path, body, { credentials: "omit", networkMessage: NETWORK_DOWN });
  }

  // ---------------------------------------------------------------- answers

  function renderAnswers(hits) {
    const list = $("faq-results");
    list.replaceChildren();
    hits.forEach(function (hit) {
      const details = document.createElement("details");
      details.className = "suggestion";
      details.dataset.testid = "faq-answer";
      const summary = document.createElement("summary");
      summary.textContent = text(hit.title);
      const body = document.createElement("p");
      body.className = "suggestion-body prose";
      body.textContent = text(hit.body);
      details.append(summary, body);
      let counted = false;
      details.addEventListener("toggle", function () {
        if (!details.open || counted || !Number.isInteger(hit.article_id)) return;
        counted = true;
        call("GET", "/api/portal/faq/" + hit.article_id).catch(function (err) {
          console.warn("could not count the read of answer", hit.article_id, err);
        });
      });
      list.append(details);
    });
  }

  async function search(event) {
    event.preventDefault();
    const words = $("faq-text").value.trim();
    const note = $("faq-note");
    if (!words) {
      note.textContent = "Type a few words of your question.";
      return;
    }
    try {
      const found = await call("GET", "/api/portal/faq?limit=8&q=" + encodeURIComponent(words));
      renderAnswers(found.hits);
      note.textContent = found.hits.length
        ? found.hits.length + (found.hits.length === 1 ? " answer" : " answers") + " found. Open one to read it."
        : "We found no answer for that. Try other words, or send us a request below.";
    } catch (err) {
      note.textContent = err.message;
    }
  }

  // ---------------------------------------------------------------- status

  async function checkStatus(event) {
    event.preventDefault();
    const error = $("status-error");
    const result = $("status-result");
    error.hidden = true;
    result.hidden = true;
    const form = $("status-form");
    const ticket = form.elements.ticket.value.trim();
    const contact = form.elements.contact.value.trim();
    if (!ticket || !contact) {
      error.textContent = "Enter the request number and the email or phone you gave us.";
      error.hidden = false;
      return;
    }
    try {
      const found = await call("POST", "/api/portal/status", { ticket: ticket, contact: contact });
      const t = found.ticket;
      $("status-number").textContent = "Request #" + text(t.number);
      $("status-subject").textContent = text(t.subject);
      $("status-text").textContent = text(t.status_text);
      const resolution = $("status-resolution");
      resolution.textContent = t.resolution ? "What we did: " + text(t.resolution) : "";
      resolution.hidden = !t.resolution;
      result.hidden = false;
    } catch (err) {
      const details = Object.values(err.details || {});
      error.textContent = details.length ? details.join(" ") : err.message;
      error.hidden = false;
    }
  }

  // ---------------------------------------------------------------- new request

  function clearRequestErrors() {
    document.querySelectorAll("#request-form .field-error").forEach(function (node) {
      node.hidden = true;
      node.textContent = "";
    });
    document.querySelectorAll("#request-form [aria-invalid]").forEach(function (node) {
      node.removeAttribute("aria-invalid");
    });
    $("request-error").hidden = true;
  }

  async function sendRequest(event) {
    event.preventDefault();
    clearRequestErrors();
    const form = $("request-form");
    const value = function (name) {
      return form.elements[name].value.trim();
    };
    const body = {
      name: value("name"),
      email: value("email") || null,
      phone: value("phone") || null,
      category: value("category"),
      subject: value("subject"),
      description: form.elements.description.value,
    };
    try {
      const opened = await call("POST", "/api/portal/requests", body);
      form.hidden = true;
      const done = $("request-done");
      done.textContent =
        "Thank you. Your request number is " + text(opened.ticket.number) +
        ". Keep it: with your email or phone it shows the status above.";
      done.hidden = false;
      done.focus();
    } catch (err) {
      let first = null;
      Object.keys(err.details || {}).forEach(function (field) {
        const note = document.querySelector('#request-form [data-error-for="' + field + '"]');
        if (note) {
          note.textContent = text(err.details[field]);
          note.hidden = false;
        }
        const input = form.elements[field];
        if (input) {
          input.setAttribute("aria-invalid", "true");
          first = first || input;
        }
      });
      const error = $("request-error");
      error.textContent = err.status === 422 ? "Please correct the marked fields; nothing was sent yet." : err.message;
      error.hidden = false;
      if (first) first.focus();
    }
  }

  async function start() {
    $("faq-form").addEventListener("submit", search);
    $("status-form").addEventListener("submit", checkStatus);
    $("request-form").addEventListener("submit", sendRequest);
    try {
      const meta = await call("GET", "/api/portal/meta");
      const select = $("r-category");
      // No default: a wrong one files the request with the wrong team ("Cannot log in" under billing).
      const choose = document.createElement("option");
      choose.value = "";
      choose.textContent = "Choose what it is about…";
      select.replaceChildren(choose);
      meta.categories.forEach(function (category) {
        const option = document.createElement("option");
        option.value = text(category);
        option.textContent = text(category).charAt(0).toUpperCase() + text(category).slice(1);
        select.append(option);
      });
      renderAnswers(meta.popular.slice(0, 6));
      if (meta.popular.length) $("faq-note").textContent = "Most read answers:";
    } catch (err) {
      $("faq-note").textContent = err.message;
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
