/*
 * Hotline agent desktop, promised callbacks: "Call back at…" on every screen pop and in the
 * Callbacks panel, the list of the agent's open callbacks, and the pop of a callback when it
 * comes due (the `callback_due` event), with a "Dial back" button that places the call from the
 * agent's phone (POST /api/callbacks/{id}/dial, an AMI Originate on the server).
 *
 * A desktop.js plugin (`window.HotlineDesk.register`); values from the server are written with
 * textContent only.
 */
(function () {
  "use strict";

  const H = window.HotlineDesk;
  if (!H) return;

  const view = { panel: null, list: null, empty: null, form: null, number: null, when: null, note: null, message: null };
  const local = { customerId: null, callbacks: new Map() };

  function el(tag, className, textValue) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (textValue !== undefined) node.textContent = textValue;
    return node;
  }

  function problem(err) {
    const details = err.details && typeof err.details === "object" ? Object.values(err.details) : [];
    return details.length ? err.message + " (" + details.join("; ") + ")" : err.message;
  }

  /** A datetime-local value `minutes` from now, in the browser's zone. */
  function localInput(minutes) {
    const d = new Date(Date.now() + minutes * 60000);
    return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  }

  function field(labelText, input) {
    const label = el("label", "field");
    label.append(el("span", "", labelText), input);
    return label;
  }

  function build() {
    const column = document.querySelector(".workspace .column");
    if (!column || view.panel) return;
    const panel = el("section", "panel panel--callbacks");
    panel.setAttribute("aria-labelledby", "callbacks-heading");
    panel.dataset.testid = "callbacks-panel";
    const head = el("div", "panel-head");
    const title = el("h2", "panel-title", "Callbacks");
    title.id = "callbacks-heading";
    const add = el("button", "button button--small", "Call back at…");
    add.type = "button";
    add.dataset.testid = "callback-new";
    add.addEventListener("click", function () { openForm("", null, null); });
    head.append(title, add);

    const form = el("form", "callback-form");
    form.hidden = true;
    form.noValidate = true;
    form.dataset.testid = "callback-form";
    view.number = el("input");
    view.number.type = "tel";
    view.number.maxLength = 40;
    view.number.required = true;
    view.number.dataset.testid = "callback-number";
    view.when = el("input");
    view.when.type = "datetime-local";
    view.when.required = true;
    view.when.dataset.testid = "callback-when";
    view.note = el("input");
    view.note.maxLength = 500;
    view.note.dataset.testid = "callback-note";
    const save = el("button", "button button--primary button--small", "Schedule callback");
    save.type = "submit";
    save.dataset.testid = "callback-save";
    const cancel = el("button", "button button--small", "Cancel");
    cancel.type = "button";
    cancel.addEventListener("click", function () { form.hidden = true; });
    view.message = el("p", "form-message");
    view.message.setAttribute("role", "alert");
    view.message.hidden = true;
    const actions = el("div", "form-actions");
    actions.append(cancel, save);
    form.append(view.message, field("Number", view.number), field("When", view.when), field("Note (optional)", view.note), actions);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      schedule();
    });

    view.list = el("ul", "callback-list");
    view.list.dataset.testid = "callback-list";
    view.empty = el("p", "table-note", "No callbacks promised. Use “Call back at…” on a call or here.");
    panel.append(head, form, view.list, view.empty);
    column.insertBefore(panel, column.firstChild);
    view.panel = panel;
    view.form = form;
  }

  /** Show the form under `host` (a card or the drawer, which covers the panel), else in the panel. */
  function openForm(number, customerId, host) {
    build();
    if (host) host.after(view.form);
    else view.panel.querySelector(".panel-head").after(view.form);
    local.customerId = customerId;
    view.number.value = number || "";
    view.when.value = localInput(30);
    view.note.value = "";
    view.message.hidden = true;
    view.form.hidden = false;
    (number ? view.when : view.number).focus();
  }

  async function schedule() {
    const when = new Date(view.when.value);
    if (!view.number.value.trim() || Number.isNaN(when.getTime())) {
      view.message.textContent = "Enter the number to call and when.";
      view.message.hidden = false;
      return;
    }
    try {
      const result = await H.api("POST", "/api/callbacks", {
        number: view.number.value.trim(),
        due_at: when.toISOString(),
        note: view.note.value,
        customer_id: local.customerId,
      });
      view.form.hidden = true;
      H.announce("Callback scheduled for " + when.toLocaleString());
      upsert(result.callback);
    } catch (err) {
      view.message.textContent = "The callback was not scheduled: " + problem(err);
      view.message.hidden = false;
    }
  }

  function render() {
    if (!view.list) return;
    const items = Array.from(local.callbacks.values()).sort(function (a, b) {
      return a.due_at < b.due_at ? -1 : a.due_at > b.due_at ? 1 : a.id - b.id;
    });
    view.list.replaceChildren();
    items.forEach(function (c) { view.list.appendChild(item(c)); });
    view.empty.hidden = items.length > 0;
  }

  function item(c) {
    const li = el("li", "callback-item");
    li.dataset.testid = "callback-item";
    li.dataset.callbackId = String(c.id);
    li.dataset.status = c.status;
    const due = c.status === "offered";
    if (due) li.classList.add("callback-item--due");
    const who = el("div", "callback-who");
    who.append(el("strong", "callback-number", c.number));
    if (c.customer_name) who.append(el("span", "callback-name", " · " + c.customer_name));
    const when = el("div", "callback-when", (due ? "Due now · " : "") + H.formatWhen(H.parseTime(c.due_at), new Date()));
    const note = el("div", "callback-note", c.note || (c.to_team ? "For the team: its agent is away" : ""));
    const actions = el("div", "callback-actions");
    const dial = el("button", "button button--primary button--small", "Dial back");
    dial.type = "button";
    dial.dataset.testid = "callback-dial";
    dial.addEventListener("click", function () { dialBack(c, dial); });
    const done = el("button", "button button--small", "Done");
    done.type = "button";
    done.dataset.testid = "callback-done";
    done.addEventListener("click", function () { finish(c); });
    const status = el("p", "callback-status");
    status.setAttribute("role", "status");
    status.dataset.testid = "callback-status";
    actions.append(dial, done);
    li.append(who, when, note, actions, status);
    return li;
  }

  function statusOf(c) {
    const li = view.list && view.list.querySelector('[data-callback-id="' + c.id + '"] [data-testid="callback-status"]');
    return li || el("p");
  }

  async function dialBack(c, button) {
    button.disabled = true;
    const status = statusOf(c);
    status.textContent = "Calling " + c.number + "… your phone rings when they answer.";
    try {
      await H.api("POST", "/api/callbacks/" + c.id + "/dial");
      local.callbacks.delete(c.id);
      H.announce("Calling " + c.number);
      render();
    } catch (err) {
      button.disabled = false;
      status.textContent = "The call could not be placed: " + problem(err);
    }
  }

  async function finish(c) {
    try {
      await H.api("POST", "/api/callbacks/" + c.id + "/done", {});
      local.callbacks.delete(c.id);
      render();
    } catch (err) {
      statusOf(c).textContent = "Not saved: " + problem(err);
    }
  }

  function upsert(c) {
    local.callbacks.set(c.id, c);
    render();
  }

  async function refresh() {
    build();
    try {
      const result = await H.api("GET", "/api/callbacks", undefined, { quiet: true });
      local.callbacks = new Map((result.callbacks || []).map(function (c) { return [c.id, c]; }));
      render();
    } catch (err) {
      view.empty.textContent = "Your callbacks could not be loaded: " + problem(err);
      view.empty.hidden = false;
    }
  }

  /** Ring the caller back now from the agent's phone (click-to-dial). */
  async function dialNumber(number, status, button) {
    button.disabled = true;
    status.textContent = "Calling " + number + "… your phone rings when they answer.";
    try {
      await H.api("POST", "/api/calls/dial", { number: number });
      H.announce("Calling " + number);
    } catch (err) {
      status.textContent = "The call could not be placed: " + problem(err);
    } finally {
      button.disabled = false;
    }
  }

  /** "Call back at…" and "Dial back" for a number: on pops, the customer page and tickets. */
  function callActions(number, customerId, prefix, inPanel) {
    const row = el("div", "pop-callback");
    const later = el("button", "button button--small", "Call back at…");
    later.type = "button";
    later.dataset.testid = prefix + "-callback";
    later.addEventListener("click", function () { openForm(number, customerId, inPanel ? null : row); });
    row.appendChild(later);
    const status = el("p", "callback-status");
    status.setAttribute("role", "status");
    status.dataset.testid = prefix + "-dial-status";
    if (number) {
      const now = el("button", "button button--small", "Dial back");
      now.type = "button";
      now.dataset.testid = prefix + "-dial";
      now.addEventListener("click", function () { dialNumber(number, status, now); });
      row.appendChild(now);
    }
    row.appendChild(status);
    return row;
  }

  function decoratePop(pop) {
    // The pop's form opens in the Callbacks panel: the card may leave when the call ends.
    pop.el.card.appendChild(callActions(pop.caller.number, pop.customer ? pop.customer.id : null, "pop", true));
  }

  H.register({
    onDesktopStart: refresh,
    onReconnect: refresh,
    onPopBuilt: decoratePop,
    onCustomerView: function (root, customer) {
      const phones = Array.isArray(customer.phones) ? customer.phones : [];
      root.appendChild(callActions(phones[0] || "", customer.id, "customer", false));
    },
    onTicketView: function (root, ticket) {
      const customer = ticket.customer || {};
      if (!customer.phone) return;
      const actions = root.querySelector(".detail-actions") || root;
      actions.appendChild(callActions(customer.phone, customer.id === undefined ? null : customer.id, "ticket", false));
    },
    onEvent: function (type, data) {
      if (type !== "callback_due" || !data || !H.state.agent) return;
      // Supervisors hear every targeted event; the pop is for the agents it was offered to.
      if (data.offered_to.indexOf(H.state.agent.id) < 0) return;
      upsert(data);
      H.announce("Callback due: " + data.number + (data.customer_name ? ", " + data.customer_name : ""));
    },
    onSessionEnd: function () {
      local.callbacks.clear();
      render();
    },
  });
})();
