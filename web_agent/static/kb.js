/*
 * The knowledge-base editing page: list and search articles, write drafts, and (supervisors and
 * admins) publish, take back and delete. Signs in like every staff page (page.js: one sign-in for
 * the Hotline tabs of the browser).
 * Server values are written with textContent only.
 */
(function () {
  "use strict";

  const $ = window.HotlinePage.byId;
  const text = window.HotlinePage.text;
  const state = { current: null, busy: false };
  const page = window.HotlinePage.session({
    view: "workspace",
    who: function (agent) { return text(agent.display_name) + " · " + text(agent.role); },
    onSignedIn: showWorkspace,
  });
  const api = page.api;

  function isReviewer() {
    const agent = page.agent();
    return Boolean(agent) && agent.role !== "agent";
  }

  // ---------------------------------------------------------------- signed in

  async function showWorkspace() {
    try {
      const meta = await api("GET", "/api/tickets/meta");
      const list = $("categories");
      list.replaceChildren();
      (meta.categories || []).forEach(function (category) {
        const option = document.createElement("option");
        option.value = text(category);
        list.append(option);
      });
    } catch (err) {
      console.warn("ticket categories unavailable for the category suggestions", err);
    }
    newArticle();
    await refreshList();
  }

  // ---------------------------------------------------------------- the list

  async function refreshList() {
    const words = $("search-text").value.trim();
    const message = $("list-message");
    try {
      let items;
      if (words) {
        const found = await api("GET", "/api/kb/search?limit=50&q=" + encodeURIComponent(words));
        items = found.hits.map(function (hit) {
          return { id: hit.article_id, title: hit.title, category: hit.category, status: "published", visibility: hit.visibility, views: hit.views };
        });
        message.textContent = items.length ? items.length + " published articles match." : "No published article matches. Drafts are not searched.";
      } else {
        const status = $("status-filter").value;
        const listed = await api("GET", "/api/kb/articles?limit=100" + (status ? "&status=" + status : ""));
        items = listed.articles;
        message.textContent = listed.total ? listed.total + " articles" + (listed.total > items.length ? ", newest " + items.length + " shown" : "") + "." : "No articles yet: write the first one.";
      }
      renderList(items);
    } catch (err) {
      message.textContent = err.message;
    }
  }

  function renderList(items) {
    const list = $("article-list");
    list.replaceChildren();
    items.forEach(function (item) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "kb-item";
      button.dataset.testid = "kb-item";
      button.dataset.articleId = String(item.id);
      if (state.current && state.current.id === item.id) button.setAttribute("aria-current", "true");
      const title = document.createElement("span");
      title.className = "kb-item-title";
      title.textContent = text(item.title);
      const meta = document.createElement("span");
      meta.className = "kb-item-meta";
      meta.textContent = [item.status === "draft" ? "Draft" : "Published", text(item.category), item.visibility === "internal" ? "agents only" : "public", text(item.views) + " reads"].join(" · ");
      button.append(title, meta);
      button.addEventListener("click", function () {
        openArticle(item.id);
      });
      li.append(button);
      list.append(li);
    });
  }

  // ---------------------------------------------------------------- the editor

  function clearErrors() {
    document.querySelectorAll("#editor .field-error").forEach(function (node) {
      node.hidden = true;
      node.textContent = "";
    });
    document.querySelectorAll("#editor [aria-invalid]").forEach(function (node) {
      node.removeAttribute("aria-invalid");
    });
    $("editor-message").hidden = true;
  }

  function say(message, tone) {
    const note = $("editor-message");
    note.textContent = message;
    note.dataset.tone = tone || "error";
    note.hidden = false;
  }

  function fill(article) {
    const form = $("editor");
    form.elements.title.value = text(article && article.title);
    form.elements.category.value = text(article && article.category);
    form.elements.language.value = text(article && article.language) || "vi";
    form.elements.visibility.value = text(article && article.visibility) || "public";
    form.elements.body.value = text(article && article.body);
    form.elements.synonyms.value = article ? article.synonyms.join("\n") : "";
    form.elements.tags.value = article ? article.tags.join(", ") : "";
    form.elements.sound_file.value = text(article && article.sound_file);
  }

  function renderEditor() {
    const article = state.current;
    const live = Boolean(article) && article.status === "published";
    $("editor-heading").textContent = article ? "Article #" + article.id : "New article";
    const badge = $("article-state");
    badge.hidden = !article;
    if (article) {
      badge.textContent = live ? "Published" : "Draft";
      badge.dataset.status = article.status;
    }
    const locked = live && !isReviewer();
    $("review-note").hidden = !locked;
    Array.from($("editor").elements).forEach(function (input) {
      if (input.tagName !== "BUTTON") input.disabled = locked;
    });
    $("save").hidden = locked;
    $("save").textContent = live ? "Save changes" : article ? "Save draft" : "Save as draft";
    $("publish").hidden = !article || live || !isReviewer();
    $("unpublish").hidden = !live || !isReviewer();
    $("delete").hidden = !article || !isReviewer();
    document.querySelectorAll(".kb-item").forEach(function (item) {
      if (article && item.dataset.articleId === String(article.id)) item.setAttribute("aria-current", "true");
      else item.removeAttribute("aria-current");
    });
  }

  function newArticle() {
    state.current = null;
    clearErrors();
    fill(null);
    renderEditor();
  }

  async function openArticle(id) {
    clearErrors();
    try {
      const result = await api("GET", "/api/kb/articles/" + id);
      state.current = result.article;
      fill(state.current);
      renderEditor();
      $("f-title").focus();
    } catch (err) {
      say(err.message);
    }
  }

  function formBody() {
    const form = $("editor");
    const lines = function (value, separator) {
      return value.split(separator).map(function (part) { return part.trim(); }).filter(Boolean);
    };
    const body = {
      title: form.elements.title.value,
      category: form.elements.category.value.trim(),
      language: form.elements.language.value,
      visibility: form.elements.visibility.value,
      body: form.elements.body.value,
      synonyms: lines(form.elements.synonyms.value, "\n"),
      tags: lines(form.elements.tags.value, ","),
      sound_file: form.elements.sound_file.value.trim() || null,
    };
    if (state.current) body.version = state.current.version;
    return body;
  }

  function showProblems(err) {
    let first = null;
    Object.keys(err.details || {}).forEach(function (field) {
      const note = document.querySelector('#editor [data-error-for="' + field + '"]');
      const input = $("editor").elements[field];
      if (note) {
        note.textContent = text(err.details[field]);
        note.hidden = false;
      }
      if (input) {
        input.setAttribute("aria-invalid", "true");
        first = first || input;
      }
    });
    say(err.status === 409 ? err.message : err.status === 422 ? "Please correct the marked fields; nothing was saved." : err.message);
    if (first) first.focus();
  }

  async function run(work, done) {
    if (state.busy) return;
    state.busy = true;
    clearErrors();
    try {
      const result = await work();
      if (result && result.article) state.current = result.article;
      renderEditor();
      say(done, "info");
      await refreshList();
    } catch (err) {
      showProblems(err);
    } finally {
      state.busy = false;
    }
  }

  function save(event) {
    event.preventDefault();
    const creating = !state.current;
    run(function () {
      return creating
        ? api("POST", "/api/kb/articles", formBody())
        : api("PUT", "/api/kb/articles/" + state.current.id, formBody());
    }, creating ? "Saved as a draft. A supervisor publishes it." : "Saved.");
  }

  function publish() {
    run(function () {
      return api("POST", "/api/kb/articles/" + state.current.id + "/publish", { version: state.current.version });
    }, "Published: agents find it now, and customers too if it is public.");
  }

  function unpublish() {
    run(function () {
      return api("POST", "/api/kb/articles/" + state.current.id + "/unpublish", { version: state.current.version });
    }, "Taken back to draft: nobody finds it until it is published again.");
  }

  function remove() {
    const article = state.current;
    if (!window.confirm("Delete \u201c" + article.title + "\u201d for good?")) return;
    run(async function () {
      await api("DELETE", "/api/kb/articles/" + article.id + "?version=" + article.version);
      state.current = null;
      fill(null);
      return null;
    }, "Deleted.");
  }

  async function start() {
    $("editor").addEventListener("submit", save);
    $("publish").addEventListener("click", publish);
    $("unpublish").addEventListener("click", unpublish);
    $("delete").addEventListener("click", remove);
    $("new-article").addEventListener("click", function () {
      newArticle();
      $("f-title").focus();
    });
    $("search-form").addEventListener("submit", function (event) {
      event.preventDefault();
      refreshList();
    });
    let typing = null;
    $("search-text").addEventListener("input", function () {
      window.clearTimeout(typing);
      typing = window.setTimeout(refreshList, 250);
    });
    $("status-filter").addEventListener("change", refreshList);
    await page.start();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
