/*
 * Hotline agent desktop, tickets: "Create ticket" on every pop card with the assign step,
 * the work lists (my tickets; unassigned and the reopen report for supervisors), the ticket
 * detail with its actions, notices and timeline, the reassign dialog and the customer page.
 *
 * Loaded after desktop.js and built on `window.HotlineDesk` (its API client and helpers);
 * this file adds no global of its own. Same safety rule as desktop.js: server values are
 * written with textContent or as attribute values only; markup comes from <template>s.
 */
(function () {
  "use strict";

  const H = window.HotlineDesk;
  if (!H) return;
  const text = H.text;
  const part = H.part;

  // ---------------------------------------------------------------- constants

  const STATUS_LABEL = {
    new: "New",
    assigned: "Assigned",
    in_progress: "In progress",
    waiting: "Waiting on customer",
    resolved: "Resolved",
    closed: "Closed",
    reopened: "Reopened",
  };
  const PRIORITY_LABEL = { low: "Low", normal: "Normal", high: "High", urgent: "Urgent" };
  const CHANNEL_LABEL = { phone: "Phone", portal: "Portal", ivr: "IVR", email: "Email", api: "API" };
  const ACTION_LABEL = {
    open: "Opened",
    assign: "Assigned",
    respond: "Responded",
    wait: "Waiting on customer",
    resume: "Resumed",
    resolve: "Resolved",
    confirm: "Confirmed",
    reopen: "Reopened",
    comment: "Comment",
    note: "Note",
  };
  const NOTICE_STATUS_LABEL = { pending: "Waiting to be sent", sending: "Sending", sent: "Sent", failed: "Failed" };
  const TABS = ["mine", "unassigned", "reopens"];
  // A handler whose solutions come back this often needs a look (coaching, a wrong category).
  const REOPEN_RATE_FLAG = 0.2;
  const REOPENS_REFRESH_DEBOUNCE_MS = 500;

  /**
   * The actions a status allows (tickets/model.py TRANSITIONS), in the order the buttons show.
   * `work`: only the handler (or a supervisor) may do it; `needs`: the text the server requires.
   */
  const ACTIONS = {
    respond: { label: "Respond to customer", submit: "Send response", field: "note", needs: true, work: true,
      prompt: "What you tell the customer (visible to them)" },
    wait: { label: "Wait on customer", submit: "Pause: waiting on customer", field: "note", needs: false, work: true,
      prompt: "What you are waiting for (visible to the customer, optional)" },
    resume: { label: "Resume", submit: "Resume work", field: "note", needs: false, work: true,
      prompt: "Note (optional)" },
    resolve: { label: "Resolve", submit: "Resolve and notify customer", field: "resolution", needs: true, work: true,
      prompt: "The solution, as the customer will read it" },
    confirm: { label: "Customer confirms", submit: "Record confirmation", field: "note", needs: false, work: false,
      prompt: "How the customer confirmed (optional)" },
    reopen: { label: "Customer reopens", submit: "Reopen ticket", field: "note", needs: true, work: false,
      prompt: "What the customer still needs" },
  };
  const ACTIONS_BY_STATUS = {
    new: [],
    assigned: ["respond", "resolve"],
    in_progress: ["wait", "resolve"],
    waiting: ["resume", "resolve"],
    reopened: ["respond", "resolve"],
    resolved: ["confirm", "reopen"],
    closed: [],
  };
  const ASSIGNABLE = ["new", "assigned", "in_progress", "waiting", "reopened"];
  const LIST_LIMIT = 50;
  const LIST_REFRESH_DEBOUNCE_MS = 300;
  const DUE_SOON_MS = 60 * 60 * 1000;
  const CONFLICT_MESSAGE = "This ticket was changed by someone else — reloaded. Check it and try again.";

  // ---------------------------------------------------------------- state

  const tstate = {
    session: 0,
    meta: null,
    metaRequest: null,
    lists: {
      mine: { tickets: [], total: 0, request: 0 },
      unassigned: { tickets: [], total: 0, request: 0 },
    },
    activeList: "mine",
    listTimer: null,
    reopens: { rows: [], request: 0, timer: null },
    lastMinute: 0,
    // The drawer shows one view; `back` is the stack of views the agent came from.
    view: null, // {kind: "ticket", id} | {kind: "customer", id}
    back: [],
    detail: null, // {ticket, entries, notices} of the ticket view
    viewRequest: 0,
    // What a superseded reload promised (focus) and the newest reload must still do.
    viewPromise: null,
    pops: new Set(), // cards with a tickets block, refreshed when their customer's tickets change
    returnFocus: null, // where focus goes back when the drawer closes
    uid: 0,
  };

  const dom = {};

  // ---------------------------------------------------------------- helpers

  function agent() {
    return H.state.agent;
  }

  function isSupervisor() {
    const me = agent();
    return Boolean(me && (me.role === "supervisor" || me.role === "admin"));
  }

  function label(table, value) {
    const key = text(value);
    return Object.hasOwn(table, key) ? table[key] : key.replace(/_/g, " ");
  }

  function el(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined && content !== null) node.textContent = text(content);
    return node;
  }

  function nextUid(prefix) {
    tstate.uid += 1;
    return prefix + tstate.uid;
  }

  /** "in 2 h 5 min", "5 min ago": short enough for a list row. */
  function relative(ms) {
    const abs = Math.abs(ms);
    const minutes = Math.round(abs / 60000);
    let amount;
    if (minutes < 1) amount = "less than a minute";
    else if (minutes < 60) amount = minutes + " min";
    else if (minutes < 48 * 60) {
      const h = Math.floor(minutes / 60);
      const m = minutes % 60;
      amount = h + " h" + (m ? " " + m + " min" : "");
    } else amount = Math.round(minutes / 1440) + " days";
    return amount;
  }

  /**
   * The deadline that matters now: the first response until it is given, then the
   * resolution. Returns {label, at, overdue, soon, paused} or null (nothing due).
   */
  function dueOf(ticket, nowMs) {
    if (!ticket || !ticket.open) return null;
    const sla = ticket.sla || {};
    if (sla.paused_since) return { label: "SLA paused: waiting on customer", at: null, overdue: false, soon: false, paused: true };
    const firstPending = !sla.first_responded_at && sla.first_response_due;
    const iso = firstPending ? sla.first_response_due : sla.resolution_due;
    const at = H.parseTime(iso);
    if (!at) return null;
    const left = at.getTime() - nowMs;
    const what = firstPending ? "Response" : "Resolution";
    return {
      label: left < 0 ? what + " overdue by " + relative(left) : what + " due in " + relative(left),
      at: at,
      overdue: left < 0,
      soon: left >= 0 && left < DUE_SOON_MS,
      paused: false,
    };
  }

  function statusPill(status, testId) {
    const pill = el("span", "status-pill status-pill--" + text(status), label(STATUS_LABEL, status));
    pill.dataset.status = text(status);
    if (testId) pill.dataset.testid = testId;
    return pill;
  }

  function priorityTag(priority) {
    const tag = el("span", "priority priority--" + text(priority), label(PRIORITY_LABEL, priority));
    tag.dataset.priority = text(priority);
    return tag;
  }

  function topTierBadge() {
    const badge = el("span", "top-tier", "★ Top tier");
    badge.dataset.testid = "top-tier-badge";
    badge.title = "Top-tier customer: served first";
    return badge;
  }

  function timeEl(iso, className) {
    const date = H.parseTime(iso);
    const node = el("time", className || "");
    if (!date) {
      node.textContent = "—";
      return node;
    }
    node.dateTime = date.toISOString();
    node.title = H.fullFormat.format(date);
    node.textContent = H.formatWhen(date, new Date());
    return node;
  }

  function dueEl(ticket, nowMs) {
    const due = dueOf(ticket, nowMs);
    const node = el("span", "due");
    node.dataset.testid = "ticket-due";
    node.dataset.ticketId = text(ticket.id);
    if (!due) {
      node.hidden = true;
      return node;
    }
    node.textContent = due.label;
    node.dataset.overdue = due.overdue ? "true" : "false";
    if (due.overdue) node.classList.add("due--overdue");
    else if (due.soon) node.classList.add("due--soon");
    else if (due.paused) node.classList.add("due--paused");
    if (due.at) node.title = H.fullFormat.format(due.at);
    return node;
  }

  /** Connect each <label data-for> of a cloned form to its input with a unique id. */
  function wireLabels(form, uid) {
    form.querySelectorAll("[data-field]").forEach(function (input) {
      const field = input.dataset.field;
      input.id = uid + "-" + field;
      const lab = form.querySelector('[data-for="' + field + '"]');
      if (lab) lab.htmlFor = input.id;
      const note = form.querySelector('[data-error-for="' + field + '"]');
      if (note) note.id = uid + "-" + field + "-error";
    });
  }

  /** Show a 422's per-field details next to their inputs; the rest goes in the form message. */
  function showApiError(form, err) {
    const details = err.details && typeof err.details === "object" ? err.details : {};
    const unplaced = [];
    Object.keys(details).forEach(function (field) {
      if (!H.showFieldError(form, field, details[field])) unplaced.push(field.replace(/_/g, " ") + ": " + text(details[field]));
    });
    const box = part(form, "form-error");
    box.textContent = [err.message].concat(unplaced).join(" ");
    box.hidden = false;
    const first = form.querySelector('[aria-invalid="true"]');
    if (first) first.focus();
  }

  function options(list) {
    if (!Array.isArray(list)) return [];
    return list
      .map(function (item) {
        if (item && typeof item === "object") return { value: text(item.value || item.name || item.id), label: text(item.label || item.name || item.value) };
        return { value: text(item), label: text(item) };
      })
      .filter(function (o) {
        return o.value;
      });
  }

  function fillSelect(select, list, labels, selected) {
    select.replaceChildren();
    list.forEach(function (o) {
      const option = document.createElement("option");
      option.value = o.value;
      option.textContent = labels && Object.hasOwn(labels, o.value) ? labels[o.value] : o.label.charAt(0).toUpperCase() + o.label.slice(1);
      if (o.value === selected) option.selected = true;
      select.append(option);
    });
  }

  async function loadMeta() {
    if (tstate.meta) return tstate.meta;
    if (!tstate.metaRequest) {
      tstate.metaRequest = H.api("GET", "/api/tickets/meta").then(
        function (meta) {
          tstate.meta = meta;
          return meta;
        },
        function (err) {
          tstate.metaRequest = null;
          throw err;
        }
      );
    }
    return tstate.metaRequest;
  }

  function ticketPath(id, action) {
    return "/api/tickets/" + encodeURIComponent(text(id)) + (action ? "/" + action : "");
  }

  // ---------------------------------------------------------------- pop cards

  /** The tickets block of a pop card: open tickets, customer page, "Create ticket". */
  function decoratePop(pop) {
    const root = H.cloneTemplate("pop-tickets-template");
    const uid = nextUid("tk");
    const form = part(root, "form");
    form.id = uid + "-form";
    wireLabels(form, uid);
    const createButton = part(root, "create");
    createButton.setAttribute("aria-controls", form.id);
    pop.tk = { root: root, uid: uid, ticket: null, session: tstate.session };
    pop.el.tickets.replaceChildren(root);
    tstate.pops.add(pop);

    createButton.addEventListener("click", function () {
      openTicketForm(pop);
    });
    part(root, "cancel").addEventListener("click", function () {
      closeTicketForm(pop, true);
    });
    form.addEventListener("keydown", function (event) {
      if (event.key === "Escape") closeTicketForm(pop, true);
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      submitTicketForm(pop);
    });
    part(root, "customer-page").addEventListener("click", function () {
      if (pop.customer) openCustomer(pop.customer.id, { fresh: true });
    });
    renderPopCustomer(pop);
  }

  /** Refresh what depends on the caller being a known customer. */
  function renderPopCustomer(pop) {
    const root = pop.tk.root;
    const known = Boolean(pop.customer && pop.customer.id !== undefined && pop.customer.id !== null);
    root.querySelector(".pop-tickets-head").hidden = !known;
    part(root, "open-list").hidden = !known;
    part(root, "open-none").hidden = true;
    if (known) loadPopTickets(pop);
  }

  async function loadPopTickets(pop) {
    const root = pop.tk.root;
    const session = tstate.session;
    const list = part(root, "open-list");
    const errorNote = part(root, "open-error");
    list.setAttribute("aria-busy", "true");
    try {
      const query = "?customer_id=" + encodeURIComponent(text(pop.customer.id)) + "&open=1&limit=10";
      const result = await H.api("GET", "/api/tickets" + query);
      if (session !== tstate.session) return;
      const tickets = Array.isArray(result.tickets) ? result.tickets : [];
      list.replaceChildren.apply(list, tickets.map(miniTicketRow));
      part(root, "open-none").hidden = tickets.length > 0;
      errorNote.hidden = true;
    } catch (err) {
      if (session !== tstate.session || err.status === 401) return;
      errorNote.textContent = "Open tickets could not be loaded: " + err.message;
      errorNote.hidden = false;
    } finally {
      list.removeAttribute("aria-busy");
    }
  }

  function miniTicketRow(ticket) {
    const li = el("li", "mini-ticket");
    li.dataset.ticketId = text(ticket.id);
    const button = el("button", "link-button mini-ticket-open");
    button.type = "button";
    button.dataset.testid = "pop-ticket-link";
    button.textContent = "#" + text(ticket.number) + " " + text(ticket.subject);
    button.addEventListener("click", function () {
      openTicket(ticket.id, { fresh: true });
    });
    li.append(button, statusPill(ticket.status), dueEl(ticket, Date.now()));
    return li;
  }

  async function openTicketForm(pop) {
    const root = pop.tk.root;
    const form = part(root, "form");
    const button = part(root, "create");
    if (!form.hidden) {
      form.elements.subject.focus();
      return;
    }
    form.reset();
    H.clearFormErrors(form);
    H.holdPop(pop, true); // never pull a half-typed ticket away from the agent
    button.setAttribute("aria-expanded", "true");
    button.hidden = true;
    part(root, "result").hidden = true;
    part(root, "assign").hidden = true;
    part(root, "context").textContent = pop.customer
      ? "For " + text(pop.customer.name) + ", linked to this call."
      : "For the caller " + (pop.caller.name ? pop.caller.name + ", " : "") + (pop.caller.number || "hidden number") + ", linked to this call.";
    form.hidden = false;
    form.elements.subject.focus();
    try {
      const meta = await loadMeta();
      const categories = options(meta.categories);
      const priorities = options(meta.priorities);
      fillSelect(form.elements.category, categories, null, null);
      fillSelect(form.elements.priority, priorities.length ? priorities : options(["low", "normal", "high", "urgent"]), PRIORITY_LABEL, "normal");
      if (categories.length) {
        // Make the agent choose: a wrong default category sends the ticket to the wrong team.
        const choose = document.createElement("option");
        choose.value = "";
        choose.textContent = "Choose…";
        choose.selected = true;
        form.elements.category.prepend(choose);
      }
    } catch (err) {
      if (err.status === 401) return;
      const box = part(form, "form-error");
      box.textContent = "The ticket categories could not be loaded: " + err.message + " Close the form and try again.";
      box.hidden = false;
    }
  }

  function closeTicketForm(pop, focusButton) {
    const root = pop.tk.root;
    const form = part(root, "form");
    const button = part(root, "create");
    form.hidden = true;
    button.hidden = false;
    button.setAttribute("aria-expanded", "false");
    if (focusButton) button.focus();
    if (!pop.tk.ticket) H.holdPop(pop, false);
  }

  async function submitTicketForm(pop) {
    const root = pop.tk.root;
    const form = part(root, "form");
    const save = part(form, "save");
    if (save.disabled) return;
    H.clearFormErrors(form);
    const subject = form.elements.subject.value.trim();
    const category = form.elements.category.value;
    let invalid = false;
    if (!subject) invalid = H.showFieldError(form, "subject", "Enter a short subject, e.g. “Invoice charged twice”.") || true;
    if (!category) invalid = H.showFieldError(form, "category", "Choose a category: it decides who can take the ticket.") || true;
    if (invalid) {
      form.querySelector('[aria-invalid="true"]').focus();
      return;
    }
    const body = {
      subject: subject,
      description: form.elements.description.value.trim(),
      category: category,
      priority: form.elements.priority.value || "normal",
      channel: "phone",
      call_id: pop.callId,
    };
    if (pop.customer && pop.customer.id !== undefined && pop.customer.id !== null) {
      body.customer_id = pop.customer.id;
    } else {
      if (pop.caller.number) body.contact_phone = pop.caller.number;
      if (pop.caller.name && pop.caller.name !== pop.caller.number) body.contact_name = pop.caller.name;
    }
    const session = tstate.session;
    save.disabled = true;
    save.textContent = "Creating…";
    form.setAttribute("aria-busy", "true");
    try {
      const result = await H.api("POST", "/api/tickets", body);
      if (session !== tstate.session) return;
      const ticket = result.ticket;
      pop.tk.ticket = ticket;
      closeTicketForm(pop, false);
      part(root, "create").hidden = true;
      showPopResult(pop, "Ticket #" + text(ticket.number) + " created. Who takes it?");
      H.announce("Ticket " + text(ticket.number) + " created.");
      showPopAssign(pop, ticket);
      scheduleListRefresh();
      if (pop.customer) loadPopTickets(pop);
    } catch (err) {
      if (session !== tstate.session || err.status === 401) return;
      showApiError(form, err);
    } finally {
      save.disabled = false;
      save.textContent = "Create ticket";
      form.removeAttribute("aria-busy");
    }
  }

  function showPopResult(pop, message, ticket) {
    const result = part(pop.tk.root, "result");
    result.replaceChildren(el("span", "", message));
    if (ticket) {
      const open = el("button", "link-button", "Open ticket");
      open.type = "button";
      open.dataset.testid = "pop-open-ticket";
      open.addEventListener("click", function () {
        openTicket(ticket.id, { fresh: true });
      });
      result.append(" ", open);
    }
    result.hidden = false;
  }

  /** The step after intake: the suggestions inline on the card. */
  function showPopAssign(pop, ticket) {
    const box = part(pop.tk.root, "assign");
    const suggestions = buildSuggestions(ticket, {
      onAssigned: function (assigned) {
        pop.tk.ticket = assigned;
        box.hidden = true;
        box.replaceChildren();
        const who = assigned.assignee ? text(assigned.assignee.name) || "handler " + text(assigned.assignee.id) : "nobody";
        showPopResult(pop, "Ticket #" + text(assigned.number) + " assigned to " + who + ".", assigned);
        part(pop.tk.root, "result").querySelector("button").focus();
        H.announce("Ticket " + text(assigned.number) + " assigned to " + who + ".");
        // The card stays (the agent dismisses it): its "Open ticket" link is the wrap-up's next step.
        part(pop.tk.root, "create").hidden = false; // a caller may have a second request
        scheduleListRefresh();
      },
      onLater: function () {
        box.hidden = true;
        box.replaceChildren();
        showPopResult(pop, "Ticket #" + text(ticket.number) + " is waiting in the Unassigned list.", ticket);
        part(pop.tk.root, "result").querySelector("button").focus();
        part(pop.tk.root, "create").hidden = false;
      },
    });
    box.replaceChildren(suggestions);
    box.hidden = false;
  }

  // ---------------------------------------------------------------- suggestions

  /**
   * Who can take `ticket`: handlers best first with department, workload and room, the
   * suggestion highlighted, "Assign" on each and "Auto-assign". callbacks: onAssigned(ticket),
   * onLater() (hides "Leave unassigned" when absent).
   */
  function buildSuggestions(ticket, callbacks) {
    const root = H.cloneTemplate("suggestions-template");
    const intro = part(root, "intro");
    const list = part(root, "handlers");
    const none = part(root, "none");
    const error = part(root, "error");
    const auto = part(root, "auto");
    const later = part(root, "later");
    later.hidden = !callbacks.onLater;
    later.addEventListener("click", function () {
      if (callbacks.onLater) callbacks.onLater();
    });
    intro.textContent = "Loading who can take “" + text(ticket.category) + "” tickets…";
    const session = tstate.session;
    let current = ticket;
    let busy = false;

    function setBusy(value) {
      busy = value;
      root.setAttribute("aria-busy", value ? "true" : "false");
      root.querySelectorAll("button").forEach(function (b) {
        b.disabled = value;
      });
    }

    async function assign(assigneeId, button) {
      if (busy) return;
      error.hidden = true;
      setBusy(true);
      const original = button.textContent;
      button.textContent = "Assigning…";
      try {
        const result = await H.api("POST", ticketPath(current.id, "assign"), {
          assignee_id: assigneeId,
          version: current.version,
        });
        if (session !== tstate.session) return;
        callbacks.onAssigned(result.ticket);
      } catch (err) {
        if (session !== tstate.session || err.status === 401) return;
        button.textContent = original;
        setBusy(false);
        if (err.errorId === "tickets.version_conflict") {
          error.textContent = "This ticket was changed by someone else meanwhile. The list is reloaded; choose again.";
          try {
            const fresh = await H.api("GET", ticketPath(current.id));
            current = fresh.ticket;
          } catch (reloadErr) {
            // keep the old version; the next try reports the problem again
          }
          load();
        } else {
          const details = err.details && typeof err.details === "object" ? Object.values(err.details).map(text) : [];
          error.textContent = [err.message].concat(details).join(" ");
        }
        error.hidden = false;
        button.focus();
      }
    }

    auto.addEventListener("click", function () {
      assign(null, auto);
    });

    async function load() {
      try {
        const result = await H.api("GET", "/api/tickets/suggestions?category=" + encodeURIComponent(text(current.category)));
        if (session !== tstate.session) return;
        render(result);
      } catch (err) {
        if (session !== tstate.session || err.status === 401) return;
        intro.textContent = "";
        error.textContent = "The suggestions could not be loaded: " + err.message + " You can still auto-assign.";
        error.hidden = false;
      }
    }

    function render(result) {
      const handlers = Array.isArray(result.handlers) ? result.handlers : [];
      const best = result.best && typeof result.best === "object" ? result.best.agent_id : result.best;
      const assigneeId = current.assignee ? current.assignee.id : null;
      intro.textContent = handlers.length
        ? "Handlers with the “" + text(current.category) + "” skill, best first:"
        : "";
      list.replaceChildren();
      handlers.forEach(function (handler) {
        const li = el("li", "handler");
        li.dataset.testid = "handler";
        li.dataset.agentId = text(handler.agent_id);
        const isBest = best !== null && best !== undefined && String(best) === String(handler.agent_id);
        if (isBest) {
          li.classList.add("handler--best");
          li.dataset.best = "true";
        }
        const who = el("div", "handler-who");
        const name = el("span", "handler-name", text(handler.name) || "Agent " + text(handler.agent_id));
        name.dataset.testid = "handler-name";
        who.append(name);
        if (isBest) {
          const tag = el("span", "suggested", "Suggested");
          tag.dataset.testid = "suggested";
          who.append(tag);
        }
        who.append(el("span", "handler-dept", handler.department));
        const load = el("div", "handler-load");
        const room = Number(handler.room) || 0;
        load.append(
          el("span", "", text(handler.open) + " open of " + text(handler.capacity)),
          el("span", room > 0 ? "room" : "room room--full", room > 0 ? room + " free" : "full")
        );
        const button = el("button", "button button--small" + (isBest ? " button--primary" : ""), "Assign");
        button.type = "button";
        button.dataset.testid = "assign-handler";
        const isCurrent = assigneeId !== null && String(assigneeId) === String(handler.agent_id);
        if (isCurrent) {
          button.textContent = "Current";
          button.disabled = true;
        }
        button.setAttribute("aria-label", "Assign to " + name.textContent);
        button.addEventListener("click", function () {
          assign(handler.agent_id, button);
        });
        li.append(who, load, button);
        list.append(li);
      });
      none.textContent = handlers.length
        ? ""
        : "Nobody has the “" + text(current.category) + "” skill yet. Leave the ticket unassigned (it waits in the Unassigned list for a supervisor), or ask a supervisor to set up handlers.";
      none.hidden = handlers.length > 0;
      auto.hidden = handlers.length === 0;
      const departments = Array.isArray(result.departments) ? result.departments : [];
      part(root, "departments").textContent = departments.length
        ? "Departments: " +
          departments
            .map(function (d) {
              return text(d.department) + " (" + text(d.open) + " open, " + text(d.room) + " free)";
            })
            .join(" · ")
        : "";
      const focusTarget = list.querySelector('[data-best="true"] button:not(:disabled)') || (auto.hidden ? later : auto);
      if (focusTarget && root.isConnected) focusTarget.focus();
    }

    load();
    return root;
  }

  const assignDialog = {
    open: function (ticket) {
      const dialog = dom.assignDialog;
      const body = part(dialog, "body");
      body.replaceChildren(
        buildSuggestions(ticket, {
          onAssigned: function (assigned) {
            dialog.close();
            const who = assigned.assignee ? text(assigned.assignee.name) || "handler " + text(assigned.assignee.id) : "nobody";
            flash("Ticket #" + text(assigned.number) + " assigned to " + who + ".", "ok");
            if (tstate.view && tstate.view.kind === "ticket" && String(tstate.view.id) === String(assigned.id)) reloadView();
            scheduleListRefresh();
          },
        })
      );
      dom.assignDialogTitle.textContent = (ticket.assignee ? "Reassign" : "Assign") + " ticket #" + text(ticket.number);
      dialog.showModal();
    },
  };

  // ---------------------------------------------------------------- work lists

  function listDom(name) {
    return dom.lists[name];
  }

  function scheduleListRefresh() {
    window.clearTimeout(tstate.listTimer);
    tstate.listTimer = window.setTimeout(loadLists, LIST_REFRESH_DEBOUNCE_MS);
  }

  function loadLists() {
    loadList("mine", "?mine=1&open=1&limit=" + LIST_LIMIT);
    if (isSupervisor()) loadList("unassigned", "?unassigned=1&open=1&limit=" + LIST_LIMIT);
  }

  async function loadList(name, query) {
    const session = tstate.session;
    const model = tstate.lists[name];
    const request = ++model.request;
    const view = listDom(name);
    view.list.setAttribute("aria-busy", "true");
    try {
      const result = await H.api("GET", "/api/tickets" + query);
      if (session !== tstate.session || request !== model.request) return;
      model.tickets = Array.isArray(result.tickets) ? result.tickets : [];
      model.total = Number(result.total) || model.tickets.length;
      renderList(name);
    } catch (err) {
      if (session !== tstate.session || request !== model.request || err.status === 401) return;
      view.errorText.textContent = "The tickets could not be loaded. " + err.message;
      view.error.hidden = false;
    } finally {
      if (request === model.request) view.list.removeAttribute("aria-busy");
    }
  }

  function renderList(name) {
    const model = tstate.lists[name];
    const view = listDom(name);
    const nowMs = Date.now();
    view.list.replaceChildren.apply(
      view.list,
      model.tickets.map(function (ticket) {
        return ticketRow(ticket, nowMs);
      })
    );
    view.empty.hidden = model.tickets.length > 0;
    view.error.hidden = true;
    view.count.textContent = model.total ? "(" + model.total + ")" : "";
  }

  /** One row of a work list; the whole row opens the ticket. */
  function ticketRow(ticket, nowMs) {
    const li = el("li", "ticket-item");
    const button = el("button", "ticket-row");
    button.type = "button";
    button.dataset.testid = "ticket-row";
    button.dataset.ticketId = text(ticket.id);
    button.dataset.status = text(ticket.status);
    const customer = ticket.customer || {};
    if (customer.top_tier) button.classList.add("ticket-row--top");
    const line1 = el("span", "ticket-line");
    const number = el("span", "ticket-number", "#" + text(ticket.number));
    number.dataset.testid = "ticket-number";
    const subject = el("span", "ticket-subject", ticket.subject);
    subject.dataset.testid = "ticket-subject";
    line1.append(number, subject);
    const line2 = el("span", "ticket-line ticket-line--meta");
    if (customer.top_tier) line2.append(topTierBadge());
    line2.append(
      el("span", "ticket-customer", text(customer.name) || text(customer.phone) || "No customer"),
      statusPill(ticket.status, "ticket-status"),
      priorityTag(ticket.priority),
      dueEl(ticket, nowMs)
    );
    button.append(line1, line2);
    button.addEventListener("click", function () {
      openTicket(ticket.id, { fresh: true });
    });
    li.append(button);
    return li;
  }

  function tabDom(name) {
    return name === "reopens" ? dom.reopens : dom.lists[name];
  }

  function selectTab(name) {
    tstate.activeList = name;
    TABS.forEach(function (key) {
      const view = tabDom(key);
      const selected = key === name;
      view.tab.setAttribute("aria-selected", selected ? "true" : "false");
      view.tab.tabIndex = selected ? 0 : -1;
      view.panel.hidden = !selected;
    });
    // The report is only fetched while someone looks at it; opening the tab brings it up to date.
    if (name === "reopens") loadReopens();
  }

  function onTabKey(event) {
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    const names = TABS.filter(function (key) {
      return !tabDom(key).tab.hidden;
    });
    const index = names.findIndex(function (key) {
      return tabDom(key).tab === event.currentTarget;
    });
    const next = names[(index + (event.key === "ArrowRight" ? 1 : names.length - 1)) % names.length];
    tabDom(next).tab.focus();
    selectTab(next);
  }

  // ---------------------------------------------------------------- reopen report

  function reopensVisible() {
    return isSupervisor() && tstate.activeList === "reopens" && !dom.reopens.panel.hidden;
  }

  function scheduleReopensRefresh() {
    if (!reopensVisible()) return; // opening the tab loads it anyway
    window.clearTimeout(tstate.reopens.timer);
    tstate.reopens.timer = window.setTimeout(loadReopens, REOPENS_REFRESH_DEBOUNCE_MS);
  }

  async function loadReopens() {
    if (!isSupervisor()) return;
    const session = tstate.session;
    const model = tstate.reopens;
    const request = ++model.request;
    const view = dom.reopens;
    const days = view.days.value;
    view.panel.setAttribute("aria-busy", "true");
    try {
      const result = await H.api("GET", "/api/reports/reopens?days=" + encodeURIComponent(days));
      if (session !== tstate.session || request !== model.request) return;
      model.rows = Array.isArray(result.rows) ? result.rows : [];
      renderReopens(days);
    } catch (err) {
      if (session !== tstate.session || request !== model.request || err.status === 401) return;
      view.errorText.textContent = "The reopen report could not be loaded. " + err.message;
      view.error.hidden = false;
    } finally {
      if (request === model.request) view.panel.removeAttribute("aria-busy");
    }
  }

  function handlerName(assignee) {
    if (!assignee) return "Unassigned";
    return text(assignee.name) || "Agent " + text(assignee.id);
  }

  /** Most reopens first; then the worse rate, the busier handler, the name. */
  function compareReopens(a, b) {
    const rate = function (row) {
      return row.reopen_rate === null || row.reopen_rate === undefined ? -1 : Number(row.reopen_rate);
    };
    return (
      Number(b.reopened) - Number(a.reopened) ||
      rate(b) - rate(a) ||
      Number(b.resolved) - Number(a.resolved) ||
      handlerName(a.assignee).localeCompare(handlerName(b.assignee)) ||
      text(a.category).localeCompare(text(b.category))
    );
  }

  function renderReopens(days) {
    const view = dom.reopens;
    const rows = tstate.reopens.rows.slice().sort(compareReopens);
    view.body.replaceChildren.apply(view.body, rows.map(reopenRow));
    view.table.hidden = rows.length === 0;
    view.empty.textContent = "No ticket was resolved or reopened in the last " + text(days) + " days.";
    view.empty.hidden = rows.length > 0;
    view.error.hidden = true;
  }

  function reopenRow(row) {
    const tr = document.createElement("tr");
    tr.dataset.testid = "reopen-row";
    tr.dataset.assigneeId = row.assignee ? text(row.assignee.id) : "";
    tr.dataset.category = text(row.category);
    const cell = function (content, className, testId) {
      const td = el("td", className, content);
      if (testId) td.dataset.testid = testId;
      td.title = td.textContent;
      return td;
    };
    const hasRate = row.reopen_rate !== null && row.reopen_rate !== undefined;
    const rate = hasRate ? Number(row.reopen_rate) : null;
    const flagged = hasRate && rate >= REOPEN_RATE_FLAG;
    const rateCell = el("td", "num");
    const value = el("span", "reopen-rate" + (flagged ? " reopen-rate--high" : ""), hasRate ? Math.round(rate * 100) + "%" : "—");
    value.dataset.testid = "reopen-rate";
    if (!hasRate) value.title = "Reopened here, resolved before this period";
    rateCell.append(value);
    if (flagged) {
      // Not by colour alone: screen readers and colour-blind eyes get the flag too.
      rateCell.append(el("span", "visually-hidden", " (high)"));
      tr.classList.add("reopen-row--high");
      tr.dataset.flagged = "true";
    }
    tr.append(
      cell(handlerName(row.assignee), row.assignee ? "reopen-handler" : "reopen-handler muted", "reopen-handler"),
      cell(row.category, "", "reopen-category"),
      cell(row.resolved, "num", "reopen-resolved"),
      cell(row.reopened, "num", "reopen-reopened"),
      rateCell
    );
    return tr;
  }

  /** Once a minute the relative deadlines move on. */
  function refreshDueTexts(nowMs) {
    const minute = Math.floor(nowMs / 60000);
    if (minute === tstate.lastMinute) return;
    tstate.lastMinute = minute;
    ["mine", "unassigned"].forEach(function (name) {
      if (tstate.lists[name].tickets.length) renderList(name);
    });
    if (tstate.detail && tstate.view && tstate.view.kind === "ticket") renderSla(dom.drawerBody, tstate.detail.ticket);
  }

  // ---------------------------------------------------------------- drawer

  function showDrawer(title) {
    dom.drawerTitle.textContent = title;
    dom.drawer.hidden = false;
    dom.drawerBack.hidden = tstate.back.length === 0;
  }

  function closeDrawer() {
    const wasOpen = !dom.drawer.hidden;
    dom.drawer.hidden = true;
    dom.drawerBody.replaceChildren();
    tstate.view = null;
    tstate.detail = null;
    tstate.back = [];
    tstate.viewRequest += 1;
    tstate.viewPromise = null;
    flash("");
    if (wasOpen && tstate.returnFocus && tstate.returnFocus.isConnected) tstate.returnFocus.focus();
  }

  /** A message at the top of the drawer: "ok", "error" or "info"; empty hides it. */
  function flash(message, tone) {
    dom.drawerMessage.textContent = text(message);
    dom.drawerMessage.dataset.tone = tone || "info";
    dom.drawerMessage.hidden = !message;
  }

  function goTo(view, options) {
    const fresh = options && options.fresh;
    if (fresh) {
      tstate.back = [];
      tstate.returnFocus = document.activeElement;
    } else if (tstate.view && !(tstate.view.kind === view.kind && String(tstate.view.id) === String(view.id))) {
      tstate.back.push(tstate.view);
    }
    tstate.view = view;
    flash("");
    reloadView({ focus: true });
  }

  function openTicket(id, options) {
    goTo({ kind: "ticket", id: id }, options);
  }

  function openCustomer(id, options) {
    goTo({ kind: "customer", id: id }, options);
  }

  function goBack() {
    const previous = tstate.back.pop();
    if (!previous) return;
    tstate.view = previous;
    flash("");
    reloadView({ focus: true });
  }

  async function reloadView(options) {
    const view = tstate.view;
    if (!view) return;
    const request = ++tstate.viewRequest;
    const session = tstate.session;
    const focus = options && options.focus;
    // A live update can start a reload while an action's reload is in flight; only the newest
    // answer is rendered, so it must also do the focusing the older one would have done.
    const promised = tstate.viewPromise || {};
    const merged = Object.assign({}, options || {}, {
      focus: Boolean(focus || promised.focus),
      focusAction: Boolean((options && options.focusAction) || promised.focusAction),
    });
    tstate.viewPromise = merged;
    if (dom.drawer.hidden || focus) {
      showDrawer(view.kind === "ticket" ? "Ticket" : "Customer");
      if (!tstate.detail || view.kind !== "ticket" || String(tstate.detail.ticket.id) !== String(view.id)) {
        dom.drawerBody.replaceChildren(el("p", "table-note", "Loading…"));
      }
    }
    try {
      if (view.kind === "ticket") {
        const result = await H.api("GET", ticketPath(view.id));
        if (request !== tstate.viewRequest || session !== tstate.session) return;
        tstate.viewPromise = null;
        renderTicket(result, merged);
      } else {
        const result = await H.api("GET", "/api/customers/" + encodeURIComponent(text(view.id)));
        if (request !== tstate.viewRequest || session !== tstate.session) return;
        tstate.viewPromise = null;
        tstate.detail = null;
        renderCustomer(result);
      }
      if (merged.focus) dom.drawerTitle.focus();
    } catch (err) {
      if (request !== tstate.viewRequest || session !== tstate.session || err.status === 401) return;
      tstate.viewPromise = null;
      tstate.detail = null;
      const what = view.kind === "ticket" ? "This ticket" : "This customer";
      const box = el("div", "table-note table-note--error");
      box.append(el("span", "", what + " could not be loaded. " + err.message));
      const retry = el("button", "button button--small", "Try again");
      retry.type = "button";
      retry.addEventListener("click", function () {
        reloadView({ focus: true });
      });
      box.append(retry);
      dom.drawerBody.replaceChildren(box);
    }
  }

  // ---------------------------------------------------------------- ticket detail

  function canWork(ticket) {
    const me = agent();
    if (!me) return false;
    if (isSupervisor()) return true;
    return Boolean(ticket.assignee && String(ticket.assignee.id) === String(me.id));
  }

  function canAssign(ticket) {
    if (ASSIGNABLE.indexOf(ticket.status) === -1) return false;
    const me = agent();
    return isSupervisor() || !ticket.assignee || Boolean(me && String(ticket.assignee.id) === String(me.id));
  }

  /** Render the whole ticket view; drafts typed in the forms survive a reload. */
  function renderTicket(result, options) {
    const ticket = result.ticket;
    const previous = tstate.detail && String(tstate.detail.ticket.id) === String(ticket.id) ? dom.drawerBody.querySelector(".ticket-detail") : null;
    const drafts = previous ? saveDrafts(previous) : null;
    tstate.detail = {
      ticket: ticket,
      entries: Array.isArray(result.entries) ? result.entries : [],
      notices: Array.isArray(result.notices) ? result.notices : [],
    };
    const root = H.cloneTemplate("ticket-detail-template");
    root.dataset.ticketId = text(ticket.id);
    root.dataset.version = text(ticket.version);
    dom.drawerTitle.textContent = "Ticket #" + text(ticket.number);
    part(root, "status").replaceWith(statusPill(ticket.status, "detail-status"));
    part(root, "priority").replaceWith(priorityTag(ticket.priority));
    const customer = ticket.customer || {};
    if (customer.top_tier) part(root, "top-tier").replaceWith(topTierBadge());
    part(root, "subject").textContent = text(ticket.subject);
    const customerCell = part(root, "customer");
    if (customer.id !== null && customer.id !== undefined) {
      const link = el("button", "link-button", text(customer.name) || "Customer " + text(customer.id));
      link.type = "button";
      link.dataset.testid = "detail-customer-link";
      link.addEventListener("click", function () {
        openCustomer(customer.id);
      });
      customerCell.append(link);
    } else {
      customerCell.textContent = text(customer.name) || "No customer record";
    }
    if (customer.tier) customerCell.append(" ", H.tierBadge(customer.tier));
    const reach = [customer.phone, customer.email].map(text).filter(Boolean).join(" · ");
    if (reach) customerCell.append(el("span", "fact-sub", reach));
    part(root, "category").textContent = text(ticket.category);
    part(root, "channel").textContent = label(CHANNEL_LABEL, ticket.channel);
    const assignee = ticket.assignee;
    part(root, "assignee").textContent = assignee
      ? (text(assignee.name) || "Agent " + text(assignee.id)) + (ticket.department ? " · " + text(ticket.department) : "")
      : "Unassigned";
    part(root, "created").append(timeEl(ticket.created_at));
    part(root, "call").textContent = text(ticket.call_id) || "—";
    renderSla(root, ticket);
    part(root, "description").textContent = text(ticket.description) || "No description.";
    if (ticket.resolution) {
      part(root, "resolution-box").hidden = false;
      part(root, "resolution").textContent = text(ticket.resolution);
      // Reopened: the customer said it did not solve it; the old text stays for reference.
      part(root, "resolution-title").textContent = ticket.status === "reopened" ? "Previous resolution (not accepted)" : "Resolution";
    }
    renderActions(root, ticket);
    bindComment(root, ticket);
    renderNotices(root, tstate.detail.notices);
    renderEntries(root, tstate.detail.entries);
    dom.drawerBody.replaceChildren(root);
    H.notify("onTicketView", root, ticket);
    if (drafts) restoreDrafts(root, drafts, ticket);
    if (options.focusAction) {
      // After a step the next one is usually among the buttons; closed tickets have none.
      const first = part(root, "actions").querySelector("button");
      (first || dom.drawerTitle).focus();
    }
  }

  function renderSla(root, ticket) {
    const first = part(root, "sla-first");
    const resolution = part(root, "sla-resolution");
    if (!first || !resolution) return;
    const sla = ticket.sla || {};
    const nowMs = Date.now();
    first.replaceChildren();
    resolution.replaceChildren();
    if (sla.first_responded_at) {
      first.append("Given ", timeEl(sla.first_responded_at));
      const due = H.parseTime(sla.first_response_due);
      const at = H.parseTime(sla.first_responded_at);
      if (due && at && at > due) first.append(el("span", "due due--overdue", " late by " + relative(at - due)));
    } else {
      first.append(deadline(sla.first_response_due, nowMs, ticket.open));
    }
    if (ticket.resolved_at) {
      resolution.append("Resolved ", timeEl(ticket.resolved_at));
    } else if (sla.paused_since) {
      resolution.append(el("span", "due due--paused", "Paused since "), timeEl(sla.paused_since));
      resolution.append(el("span", "fact-sub", "Due " + (H.parseTime(sla.resolution_due) ? H.fullFormat.format(H.parseTime(sla.resolution_due)) : "—") + " before the pause"));
    } else {
      resolution.append(deadline(sla.resolution_due, nowMs, ticket.open));
    }
  }

  function deadline(iso, nowMs, open) {
    const at = H.parseTime(iso);
    if (!at) return el("span", "muted", "No target");
    const left = at.getTime() - nowMs;
    const span = el("span", "due");
    span.title = H.fullFormat.format(at);
    if (!open) span.textContent = "Due " + H.fullFormat.format(at);
    else if (left < 0) {
      span.textContent = "Overdue by " + relative(left);
      span.classList.add("due--overdue");
      span.dataset.overdue = "true";
    } else {
      span.textContent = "Due in " + relative(left) + " (" + H.formatWhen(at, new Date()) + ")";
      if (left < DUE_SOON_MS) span.classList.add("due--soon");
    }
    return span;
  }

  function renderActions(root, ticket) {
    const container = part(root, "actions");
    const note = part(root, "action-note");
    const form = part(root, "action-form");
    const textarea = part(root, "action-text");
    const formId = nextUid("act");
    form.id = formId;
    textarea.id = formId + "-text";
    part(root, "action-label").htmlFor = textarea.id;
    part(root, "action-error").id = formId + "-error";
    const names = (ACTIONS_BY_STATUS[ticket.status] || []).slice();
    const mayWork = canWork(ticket);
    const blocked = names.filter(function (n) {
      return ACTIONS[n].work && !mayWork;
    });
    const shown = names.filter(function (n) {
      return !(ACTIONS[n].work && !mayWork);
    });
    container.replaceChildren();
    shown.forEach(function (name) {
      const button = el("button", "button" + (name === "resolve" || name === "respond" ? " button--primary" : ""), ACTIONS[name].label);
      button.type = "button";
      button.dataset.testid = "action-" + name;
      button.dataset.action = name;
      button.setAttribute("aria-controls", formId);
      button.addEventListener("click", function () {
        openActionForm(root, ticket, name);
      });
      container.append(button);
    });
    if (canAssign(ticket)) {
      const assign = el("button", "button", ticket.assignee ? "Reassign…" : "Assign…");
      assign.type = "button";
      assign.dataset.testid = "action-assign";
      assign.addEventListener("click", function () {
        assignDialog.open(ticket);
      });
      container.append(assign);
    }
    const messages = [];
    if (blocked.length) {
      const who = ticket.assignee ? text(ticket.assignee.name) || "another agent" : "nobody yet";
      messages.push("Assigned to " + who + ": only the handler or a supervisor can work on it.");
    }
    if (ticket.status === "resolved") messages.push("Waiting for the customer to confirm. If they answer by phone, record it here.");
    if (ticket.status === "closed") messages.push("Closed: the customer confirmed the solution. A new need is a new ticket.");
    if (ticket.status === "new" && !ticket.assignee) messages.push("Not assigned yet: assign a handler to start work.");
    note.textContent = messages.join(" ");
    note.hidden = messages.length === 0;

    part(root, "action-cancel").addEventListener("click", function () {
      closeActionForm(root);
    });
    form.addEventListener("keydown", function (event) {
      if (event.key === "Escape") closeActionForm(root);
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      submitAction(root, form.dataset.action);
    });
  }

  function openActionForm(root, ticket, name) {
    const form = part(root, "action-form");
    const spec = ACTIONS[name];
    form.dataset.action = name;
    part(root, "action-label").textContent = spec.prompt;
    part(root, "action-submit").textContent = spec.submit;
    const textarea = part(root, "action-text");
    textarea.required = spec.needs;
    textarea.name = spec.field;
    hideActionError(root);
    part(root, "actions").querySelectorAll("button").forEach(function (b) {
      b.setAttribute("aria-expanded", b.dataset.action === name ? "true" : "false");
    });
    form.hidden = false;
    textarea.focus();
  }

  function closeActionForm(root) {
    const form = part(root, "action-form");
    const name = form.dataset.action;
    form.hidden = true;
    part(root, "action-text").value = "";
    hideActionError(root);
    const button = part(root, "actions").querySelector('[data-action="' + name + '"]');
    if (button) {
      button.setAttribute("aria-expanded", "false");
      button.focus();
    }
  }

  function hideActionError(root) {
    const error = part(root, "action-error");
    error.hidden = true;
    error.textContent = "";
    part(root, "action-text").removeAttribute("aria-invalid");
    part(root, "action-text").removeAttribute("aria-describedby");
  }

  function showActionError(root, message) {
    const error = part(root, "action-error");
    const textarea = part(root, "action-text");
    error.textContent = message;
    error.hidden = false;
    textarea.setAttribute("aria-invalid", "true");
    textarea.setAttribute("aria-describedby", error.id);
    textarea.focus();
  }

  async function submitAction(root, name) {
    const spec = ACTIONS[name];
    const detail = tstate.detail;
    if (!spec || !detail) return;
    const ticket = detail.ticket;
    const submit = part(root, "action-submit");
    if (submit.disabled) return;
    const value = part(root, "action-text").value.trim();
    if (spec.needs && !value) {
      showActionError(root, name === "resolve" ? "Write the solution: the customer receives it in the notice." : "Write a note first: it is required for this step.");
      return;
    }
    const body = {};
    if (value || spec.needs) body[spec.field] = value;
    // confirm and reopen are the customer's answer and carry no version (the server locks the row).
    if (name !== "confirm" && name !== "reopen") body.version = ticket.version;
    const session = tstate.session;
    submit.disabled = true;
    const original = submit.textContent;
    submit.textContent = "Saving…";
    try {
      const result = await H.api("POST", ticketPath(ticket.id, name), body);
      if (session !== tstate.session) return;
      const after = result.ticket;
      flash(actionDone(name, after), "ok");
      H.announce(actionDone(name, after));
      part(root, "action-form").hidden = true;
      part(root, "action-text").value = "";
      await reloadView({ focusAction: true });
      scheduleListRefresh();
    } catch (err) {
      if (session !== tstate.session || err.status === 401) return;
      submit.disabled = false;
      submit.textContent = original;
      handleTicketError(root, err, function (message) {
        showActionError(root, message);
      });
    }
  }

  function actionDone(name, ticket) {
    const number = "Ticket #" + text(ticket && ticket.number);
    switch (name) {
      case "respond":
        return number + ": response recorded. It is now in progress.";
      case "wait":
        return number + " is waiting on the customer; the resolution clock is paused.";
      case "resume":
        return number + " is in progress again; the resolution clock runs.";
      case "resolve":
        return number + " resolved. The customer is notified and asked to confirm.";
      case "confirm":
        return number + " closed: the customer confirmed the solution.";
      case "reopen":
        return number + " reopened and back with its handler.";
      default:
        return number + " updated.";
    }
  }

  /** 409/403 answers reload the ticket so the agent sees what it is now; 422 is shown in place. */
  function handleTicketError(root, err, showInPlace) {
    if (err.errorId === "tickets.version_conflict") {
      flash(CONFLICT_MESSAGE, "error");
      reloadView();
      return;
    }
    if (err.errorId === "tickets.illegal_transition") {
      flash("That step is not possible any more: " + err.message + " The ticket is reloaded.", "error");
      reloadView();
      return;
    }
    if (err.errorId === "tickets.not_yours") {
      flash("This ticket is not assigned to you: only its handler or a supervisor can do that. " + err.message, "error");
      reloadView();
      return;
    }
    const details = err.details && typeof err.details === "object" ? Object.values(err.details).map(text) : [];
    showInPlace([err.message].concat(details).join(" "));
  }

  function bindComment(root, ticket) {
    const form = part(root, "comment-form");
    const textarea = part(root, "comment-text");
    const error = part(root, "comment-error");
    const uid = nextUid("cm");
    textarea.id = uid + "-text";
    error.id = uid + "-error";
    part(root, "comment-label").htmlFor = textarea.id;
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const submit = part(root, "comment-submit");
      if (submit.disabled) return;
      const body = textarea.value.trim();
      error.hidden = true;
      textarea.removeAttribute("aria-invalid");
      if (!body) {
        error.textContent = "Write the comment first.";
        error.hidden = false;
        textarea.setAttribute("aria-invalid", "true");
        textarea.setAttribute("aria-describedby", error.id);
        textarea.focus();
        return;
      }
      const visible = part(root, "comment-visible").checked;
      const session = tstate.session;
      submit.disabled = true;
      try {
        await H.api("POST", ticketPath(ticket.id, "comments"), { body: body, customer_visible: visible });
        if (session !== tstate.session) return;
        textarea.value = "";
        part(root, "comment-visible").checked = false;
        flash(visible ? "Comment added; the customer can see it." : "Internal comment added.", "ok");
        await reloadView();
      } catch (err) {
        if (session !== tstate.session || err.status === 401) return;
        handleTicketError(root, err, function (message) {
          error.textContent = message;
          error.hidden = false;
          textarea.focus();
        });
      } finally {
        submit.disabled = false;
      }
    });
  }

  function saveDrafts(root) {
    const form = part(root, "action-form");
    return {
      action: form.hidden ? null : form.dataset.action,
      actionText: part(root, "action-text").value,
      comment: part(root, "comment-text").value,
      visible: part(root, "comment-visible").checked,
      focusedRole: document.activeElement && root.contains(document.activeElement) ? document.activeElement.dataset.role : null,
    };
  }

  function restoreDrafts(root, drafts, ticket) {
    part(root, "comment-text").value = drafts.comment;
    part(root, "comment-visible").checked = drafts.visible;
    const allowed = ACTIONS_BY_STATUS[ticket.status] || [];
    if (drafts.action && allowed.indexOf(drafts.action) !== -1 && (!ACTIONS[drafts.action].work || canWork(ticket))) {
      openActionForm(root, ticket, drafts.action);
      part(root, "action-text").value = drafts.actionText;
    }
    if (drafts.focusedRole) {
      const target = part(root, drafts.focusedRole);
      if (target && !target.closest("[hidden]")) target.focus();
    }
  }

  function renderNotices(root, notices) {
    const list = part(root, "notices");
    list.replaceChildren();
    notices.forEach(function (notice) {
      const li = el("li", "notice");
      li.dataset.testid = "notice";
      li.dataset.status = text(notice.status);
      const head = el("span", "notice-head");
      head.append(
        el("span", "notice-kind", text(notice.kind) === "service_completed" ? "Service completed" : label({}, notice.kind)),
        el("span", "notice-to", "by " + text(notice.channel) + " to " + text(notice.recipient))
      );
      // Pending with an error: an attempt failed and the dispatcher tries again later.
      const retrying = notice.status === "pending" && Boolean(notice.last_error);
      const statusLabel = retrying ? "Not sent yet, will retry" : label(NOTICE_STATUS_LABEL, notice.status);
      const status = el("span", "pill notice-status notice-status--" + (retrying ? "retrying" : text(notice.status)), statusLabel);
      status.dataset.testid = "notice-status";
      const when = el("span", "notice-when");
      if (notice.sent_at) when.append("sent ", timeEl(notice.sent_at));
      else {
        when.append("queued ", timeEl(notice.created_at));
        if (Number(notice.attempts) > 0) when.append(", " + text(notice.attempts) + " attempt(s)");
      }
      li.append(head, status, when);
      if (notice.last_error && notice.status !== "sent") {
        const error = el("span", "notice-error", "Last error: " + text(notice.last_error) + (notice.status === "failed" ? " No more attempts." : ""));
        error.dataset.testid = "notice-error";
        li.append(error);
      }
      list.append(li);
    });
    part(root, "no-notices").hidden = notices.length > 0;
  }

  function actorName(actor) {
    if (!actor) return "";
    if (actor.kind === "customer") return "Customer";
    if (actor.kind === "system") return "Hotline";
    return text(actor.name) || "Agent " + text(actor.id);
  }

  /** The audited timeline, newest first: who, when, from → to, the note, customer-visible. */
  function renderEntries(root, entries) {
    const list = part(root, "entries");
    list.replaceChildren();
    entries
      .slice()
      .sort(function (a, b) {
        return Date.parse(text(b.at)) - Date.parse(text(a.at)) || Number(b.id) - Number(a.id);
      })
      .forEach(function (entry) {
        const li = el("li", "entry entry--" + text(entry.action));
        li.dataset.testid = "timeline-entry";
        li.dataset.action = text(entry.action);
        const head = el("div", "entry-head");
        const action = el("span", "entry-action", label(ACTION_LABEL, entry.action));
        head.append(action, el("span", "entry-who", actorName(entry.actor)), timeEl(entry.at, "entry-when"));
        if (entry.from || entry.to) {
          const move = el("span", "entry-move");
          move.dataset.testid = "entry-move";
          move.textContent = (entry.from ? label(STATUS_LABEL, entry.from) + " → " : "") + label(STATUS_LABEL, entry.to);
          head.append(move);
        }
        if (entry.customer_visible) {
          const vis = el("span", "visible-tag", "Visible to customer");
          vis.dataset.testid = "customer-visible";
          head.append(vis);
        }
        li.append(head);
        if (entry.note) {
          const note = el("p", "entry-note prose", entry.note);
          note.dataset.testid = "entry-note";
          li.append(note);
        }
        list.append(li);
      });
  }

  // ---------------------------------------------------------------- customer page

  function renderCustomer(result) {
    const customer = result.customer || {};
    const root = H.cloneTemplate("customer-view-template");
    dom.drawerTitle.textContent = text(customer.name) || "Customer";
    root.querySelector('[data-testid="customer-view-name"]').textContent = text(customer.name) || "Unnamed customer";
    part(root, "tier").replaceWith(H.tierBadge(customer.tier, "customer-view-tier"));
    part(root, "customer-no").textContent = text(customer.customer_no) || "—";
    part(root, "email").textContent = text(customer.email) || "—";
    const phones = Array.isArray(customer.phones) ? customer.phones.map(text).filter(Boolean) : [];
    part(root, "phones").textContent = phones.length ? phones.join(", ") : "—";
    const tickets = Array.isArray(result.tickets) ? result.tickets : [];
    const list = part(root, "tickets");
    const nowMs = Date.now();
    tickets.forEach(function (ticket) {
      list.append(ticketRow(ticket, nowMs));
    });
    part(root, "no-tickets").hidden = tickets.length > 0;
    const timeline = (Array.isArray(result.timeline) ? result.timeline : []).slice().sort(function (a, b) {
      return Date.parse(text(b.occurred_at)) - Date.parse(text(a.occurred_at));
    });
    H.renderTimeline(part(root, "timeline"), part(root, "no-history"), timeline, new Date());
    dom.drawerBody.replaceChildren(root);
    H.notify("onCustomerView", root, customer);
  }

  // ---------------------------------------------------------------- live updates

  function onTicketChanged(data) {
    const ticket = data.ticket;
    if (!ticket || typeof ticket !== "object") return;
    scheduleListRefresh();
    if (data.change === "reopened" || data.change === "resolved") scheduleReopensRefresh();
    const me = agent();
    const entry = data.entry || {};
    const byMe = entry.actor && entry.actor.kind === "agent" && me && String(entry.actor.id) === String(me.id);
    if (!byMe && me && ticket.assignee && String(ticket.assignee.id) === String(me.id)) {
      if (data.change === "assigned") H.announce("Ticket " + text(ticket.number) + " was assigned to you.");
      if (data.change === "reopened") H.announce("Ticket " + text(ticket.number) + " was reopened by the customer.");
      if (data.change === "closed") H.announce("Ticket " + text(ticket.number) + " was confirmed and closed.");
    }
    const view = tstate.view;
    if (view && view.kind === "ticket" && String(view.id) === String(ticket.id)) {
      const shown = tstate.detail ? Number(tstate.detail.ticket.version) : -1;
      if (Number(ticket.version) !== shown || data.change === "updated") {
        if (!byMe) flash("Updated by " + actorName(entry.actor) + ": " + label(ACTION_LABEL, entry.action) + ".", "info");
        reloadView();
      }
    } else if (view && view.kind === "customer" && ticket.customer && String(ticket.customer.id) === String(view.id)) {
      reloadView();
    }
    tstate.pops.forEach(function (pop) {
      if (!pop.el.card.isConnected) {
        tstate.pops.delete(pop);
        return;
      }
      if (pop.customer && ticket.customer && String(pop.customer.id) === String(ticket.customer.id)) loadPopTickets(pop);
    });
  }

  /** A notice was sent or an attempt failed: the open detail of that ticket shows it at once. */
  function onTicketNotice(data) {
    const view = tstate.view;
    if (!view || view.kind !== "ticket" || String(view.id) !== String(data.ticket_id)) return;
    // The whole detail, like any live reload: drafts and focus survive renderTicket.
    reloadView();
  }

  // ---------------------------------------------------------------- plugin hooks

  const plugin = {
    onDesktopStart: function () {
      tstate.session += 1;
      tstate.lists.mine.tickets = [];
      tstate.lists.unassigned.tickets = [];
      const supervisor = isSupervisor();
      dom.lists.unassigned.tab.hidden = !supervisor;
      dom.reopens.tab.hidden = !supervisor;
      tstate.reopens.rows = [];
      tstate.reopens.request += 1;
      dom.reopens.body.replaceChildren();
      dom.reopens.table.hidden = true;
      dom.reopens.empty.hidden = true;
      dom.reopens.error.hidden = true;
      selectTab("mine");
      renderList("mine");
      renderList("unassigned");
      dom.lists.mine.empty.hidden = true;
      loadLists();
    },
    onSessionEnd: function () {
      tstate.session += 1;
      window.clearTimeout(tstate.listTimer);
      window.clearTimeout(tstate.reopens.timer);
      tstate.meta = null;
      tstate.metaRequest = null;
      tstate.pops.clear();
      if (dom.assignDialog.open) dom.assignDialog.close();
      closeDrawer();
    },
    onReconnect: function () {
      // Changes may have happened while the socket was down.
      loadLists();
      if (reopensVisible()) loadReopens();
      if (tstate.view) reloadView();
    },
    onEvent: function (type, data) {
      if (type === "ticket_changed") onTicketChanged(data);
      else if (type === "ticket_notice") onTicketNotice(data);
    },
    onPopBuilt: decoratePop,
    onPopCustomer: function (pop) {
      if (pop.tk) renderPopCustomer(pop);
    },
    onTick: refreshDueTexts,
  };

  function lookUpDom() {
    const byId = function (id) {
      return document.getElementById(id);
    };
    const list = function (name, tabId, panelId, countId) {
      const panel = byId(panelId);
      return {
        tab: byId(tabId),
        panel: panel,
        list: panel.querySelector(".ticket-list"),
        empty: part(panel, "empty"),
        error: part(panel, "error"),
        errorText: part(panel, "error-text"),
        retry: part(panel, "retry"),
        count: byId(countId),
      };
    };
    Object.assign(dom, {
      lists: {
        mine: list("mine", "tab-mine", "list-mine", "count-mine"),
        unassigned: list("unassigned", "tab-unassigned", "list-unassigned", "count-unassigned"),
      },
      reopens: (function () {
        const panel = byId("list-reopens");
        const table = panel.querySelector("table");
        return {
          tab: byId("tab-reopens"),
          panel: panel,
          days: byId("reopens-days"),
          table: table,
          body: table.tBodies[0],
          empty: part(panel, "empty"),
          error: part(panel, "error"),
          errorText: part(panel, "error-text"),
          retry: part(panel, "retry"),
        };
      })(),
      drawer: byId("drawer"),
      drawerTitle: byId("drawer-title"),
      drawerBack: byId("drawer-back"),
      drawerClose: byId("drawer-close"),
      drawerMessage: byId("drawer-message"),
      drawerBody: byId("drawer-body"),
      assignDialog: byId("assign-dialog"),
      assignDialogTitle: byId("assign-dialog-title"),
    });
  }

  function bindHandlers() {
    ["mine", "unassigned"].forEach(function (name) {
      const view = dom.lists[name];
      view.tab.addEventListener("click", function () {
        selectTab(name);
      });
      view.tab.addEventListener("keydown", onTabKey);
      view.retry.addEventListener("click", loadLists);
    });
    dom.reopens.tab.addEventListener("click", function () {
      selectTab("reopens");
    });
    dom.reopens.tab.addEventListener("keydown", onTabKey);
    dom.reopens.retry.addEventListener("click", loadReopens);
    dom.reopens.days.addEventListener("change", loadReopens);
    dom.drawerClose.addEventListener("click", closeDrawer);
    dom.drawerBack.addEventListener("click", goBack);
    dom.drawer.addEventListener("keydown", function (event) {
      // Escape inside an open form closes the form first (its own handler); then the drawer.
      if (event.key === "Escape" && !event.target.closest("form:not([hidden])")) closeDrawer();
    });
    part(dom.assignDialog, "close").addEventListener("click", function () {
      dom.assignDialog.close();
    });
  }

  function start() {
    lookUpDom();
    bindHandlers();
    H.register(plugin);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
