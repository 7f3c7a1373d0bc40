/* supportbot writers' page: gap clusters, drafts, the article editor, history.
   Plain JavaScript, no build step. Text from the API (customers' questions, agents' answers,
   articles) is inserted with textContent / text nodes only; the Markdown preview is built the
   same way (markdown.js). The login, the API calls and the error display are common.js. */
(function () {
  "use strict";

  var C = window.SupportbotCommon;
  var $ = C.$, el = C.el, clear = C.clear, str = C.str, flash = C.flash;
  var session = C.session({ onApp: showApp });
  var api = session.api, failed = session.failed;

  var state = {
    languages: [],
    tab: "gaps",
    editing: null,     // {language, id} of the article loaded in the editor, or null (new)
    draftId: null,     // the draft the editor publishes
    clusterId: null,   // the gap cluster the editor closes
    searchTimer: null,
  };
  var RTL = ["fa", "ar", "he", "ur", "ps", "yi", "dv", "ckb"];
  var FIELDS = ["id", "language", "title", "questions", "handoff", "tags", "body"];

  function num(v) { var n = Number(v); return isNaN(n) ? "" : n.toFixed(2); }
  function direction(language) {
    return RTL.indexOf(String(language || "").toLowerCase().split("-")[0]) >= 0 ? "rtl" : "ltr";
  }
  function dateOf(value) {
    var d = value ? new Date(value) : null;
    return d && !isNaN(d.getTime())
      ? d.toLocaleString([], { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" })
      : str(value);
  }
  function canEdit() { var me = session.me; return !!(me && (me.role === "writer" || me.role === "admin")); }

  // ---------------------------------------------------------------- after sign-in

  function showApp(agent) {
    $("to-console").hidden = agent.role === "writer";
    $("role-note").hidden = canEdit();
    $("ed-save").disabled = !canEdit();
    loadArticles().then(function () { showTab(state.tab); });
    loadDrafts();
  }

  // ---------------------------------------------------------------- tabs

  function showTab(name) {
    state.tab = name;
    var views = document.querySelectorAll(".view");
    for (var i = 0; i < views.length; i++) views[i].hidden = views[i].getAttribute("data-view") !== name;
    var tabs = document.querySelectorAll(".tab");
    for (var j = 0; j < tabs.length; j++) {
      tabs[j].setAttribute("aria-selected", tabs[j].getAttribute("data-tab") === name ? "true" : "false");
    }
    if (name === "gaps") loadGaps();
    else if (name === "drafts") loadDrafts();
    else if (name === "articles") loadArticles();
    else if (name === "history") loadHistory();
  }

  // ---------------------------------------------------------------- gaps

  function loadGaps() {
    var status = $("gap-status").value, language = $("gap-language").value;
    var query = "?status=" + encodeURIComponent(status) + (language ? "&language=" + encodeURIComponent(language) : "");
    return api("GET", "/api/knowledge/gaps" + query).then(function (r) {
      if (failed(r, "Gaps")) return;
      var clusters = Array.isArray(r.data.clusters) ? r.data.clusters : [];
      renderGaps(clusters);
      if (status === "open" && !language) $("gaps-count").textContent = String(clusters.length);
    });
  }

  function list(title, items, render) {
    var box = el("div");
    box.appendChild(el("h4", null, title));
    var ul = el("ul");
    if (!items.length) ul.appendChild(el("li", { class: "muted" }, "none"));
    items.forEach(function (item) { ul.appendChild(render(item)); });
    box.appendChild(ul);
    return box;
  }

  function renderGaps(clusters) {
    var ul = $("clusters");
    clear(ul);
    $("clusters-empty").hidden = clusters.length > 0;
    clusters.forEach(function (c) {
      var li = el("li", { class: "cluster", "data-cluster-id": c.id, "data-status": c.status });
      var top = el("div", { class: "card-top" });
      var count = el("div", { class: "count", title: "times asked" }, str(c.count));
      count.appendChild(el("small", null, Number(c.count) === 1 ? "time" : "times"));
      top.appendChild(count);

      var main = el("div", { class: "card-main" });
      var questions = Array.isArray(c.questions) ? c.questions : [];
      main.appendChild(el("div", { class: "card-title", dir: "auto" }, c.question || questions[0] || ""));
      var chips = el("div", { class: "chips" });
      chips.appendChild(el("span", { class: "chip status-" + String(c.status).replace(/[^a-z]/g, "") },
        c.status === "covered" && c.covered_by ? "covered by " + c.covered_by : c.status));
      (Array.isArray(c.languages) ? c.languages : [c.language]).forEach(function (lang) {
        if (lang) chips.appendChild(el("span", { class: "chip lang" }, lang));
      });
      if (c.last_seen) chips.appendChild(el("span", { class: "chip" }, "last " + dateOf(c.last_seen)));
      if (c.first_seen) chips.appendChild(el("span", { class: "chip" }, "first " + dateOf(c.first_seen)));
      main.appendChild(chips);
      top.appendChild(main);

      var actions = el("div", { class: "card-actions" });
      if (canEdit()) {
        var write = el("button", { type: "button", class: "btn btn-primary write-article" }, "Write article");
        write.addEventListener("click", function () { editFromCluster(c); });
        actions.appendChild(write);
        var next = c.status === "dismissed" ? "open" : "dismissed";
        if (c.status !== "covered") {
          var toggle = el("button", { type: "button", class: "btn " + (next === "open" ? "reopen" : "dismiss") },
            next === "open" ? "Reopen" : "Dismiss");
          toggle.addEventListener("click", function () { setGapStatus(c.id, next, toggle); });
          actions.appendChild(toggle);
        }
      }
      top.appendChild(actions);
      li.appendChild(top);

      var cols = el("div", { class: "card-cols" });
      cols.appendChild(list("Customers asked", questions, function (q) { return el("li", { dir: "auto" }, q); }));
      cols.appendChild(list("Closest articles", Array.isArray(c.articles) ? c.articles : [], function (a) {
        var item = el("li", { "data-article-id": a.id });
        item.appendChild(document.createTextNode((a.title || a.id) + " "));
        item.appendChild(el("span", { class: "score" }, num(a.score)));
        return item;
      }));
      cols.appendChild(list("Agents answered", Array.isArray(c.agent_answers) ? c.agent_answers : [], function (a) {
        var item = el("li");
        if (a.agent) item.appendChild(el("strong", null, str(a.agent) + ": "));
        item.appendChild(el("span", { class: "answer-text", dir: "auto" }, str(a.text)));
        return item;
      }));
      li.appendChild(cols);
      ul.appendChild(li);
    });
  }

  function setGapStatus(id, status, button) {
    button.disabled = true;
    api("POST", "/api/knowledge/gaps/" + encodeURIComponent(id), { status: status }).then(function (r) {
      button.disabled = false;
      if (failed(r, "Gap")) return;
      flash(status === "dismissed" ? "Dismissed." : "Open again.", "info");
      loadGaps();
    });
  }

  function editFromCluster(c) {
    var questions = Array.isArray(c.questions) ? c.questions : [];
    var language = String(c.language || (c.languages || [])[0] || "en").split("-")[0];
    openEditor(null, {
      id: "", language: language, title: "", questions: questions, body: "", handoff: "on_request", tags: [],
    }, "From a gap asked " + str(c.count) + (Number(c.count) === 1 ? " time" : " times"));
    state.clusterId = c.id;
    $("try-text").value = questions[0] || "";
    $("ed-id").focus();
  }

  // ---------------------------------------------------------------- drafts

  function loadDrafts() {
    var status = $("draft-status").value;
    return api("GET", "/api/knowledge/drafts?status=" + encodeURIComponent(status)).then(function (r) {
      if (failed(r, "Drafts")) return;
      var drafts = Array.isArray(r.data.drafts) ? r.data.drafts : [];
      if (status === "open") $("drafts-count").textContent = String(drafts.length);
      renderDrafts(drafts);
    });
  }

  function renderDrafts(drafts) {
    var ul = $("drafts");
    clear(ul);
    $("drafts-empty").hidden = drafts.length > 0;
    drafts.forEach(function (d) {
      var li = el("li", { class: "draft", "data-draft-id": d.id });
      var top = el("div", { class: "card-top" });
      var main = el("div", { class: "card-main" });
      main.appendChild(el("div", { class: "card-title", dir: "auto" }, d.title || d.article_id));
      var chips = el("div", { class: "chips" });
      chips.appendChild(el("span", { class: "chip lang" }, d.language));
      chips.appendChild(el("span", { class: "chip" }, "id " + d.article_id));
      chips.appendChild(el("span", { class: "chip" }, "by " + d.created_by + " · " + dateOf(d.created_at)));
      if (d.handoff_id) chips.appendChild(el("span", { class: "chip" }, "handoff #" + d.handoff_id));
      if (d.status === "published") chips.appendChild(el("span", { class: "chip status-covered" }, "published as " + str(d.published_as)));
      main.appendChild(chips);
      top.appendChild(main);
      var actions = el("div", { class: "card-actions" });
      if (canEdit() && d.status === "open") {
        var review = el("button", { type: "button", class: "btn btn-primary review-draft" }, "Review in editor");
        review.addEventListener("click", function () { editFromDraft(d); });
        actions.appendChild(review);
        var del = el("button", { type: "button", class: "btn delete-draft" }, "Delete");
        del.addEventListener("click", function () {
          del.disabled = true;
          api("DELETE", "/api/knowledge/drafts/" + encodeURIComponent(d.id)).then(function (r) {
            del.disabled = false;
            if (!failed(r, "Delete draft")) { flash("Draft deleted.", "info"); loadDrafts(); }
          });
        });
        actions.appendChild(del);
      }
      top.appendChild(actions);
      li.appendChild(top);
      var cols = el("div", { class: "card-cols" });
      cols.appendChild(list("Customer asked", d.questions || [], function (q) { return el("li", { dir: "auto" }, q); }));
      var answer = el("div");
      answer.appendChild(el("h4", null, "Agent answered"));
      answer.appendChild(el("div", { class: "excerpt", dir: "auto" }, d.body || "—"));
      cols.appendChild(answer);
      li.appendChild(cols);
      ul.appendChild(li);
    });
  }

  function editFromDraft(d) {
    openEditor(null, {
      id: d.article_id, language: d.language, title: d.title, questions: d.questions || [],
      body: d.body, handoff: "on_request", tags: [],
    }, "From a draft by " + d.created_by);
    state.draftId = d.id;
  }

  // ---------------------------------------------------------------- articles

  function loadArticles() {
    var q = $("article-search").value.trim();
    return api("GET", "/api/knowledge/articles" + (q ? "?q=" + encodeURIComponent(q) : "")).then(function (r) {
      if (failed(r, "Articles")) return;
      state.languages = Array.isArray(r.data.languages) ? r.data.languages : [];
      fillLanguages();
      renderArticles(Array.isArray(r.data.articles) ? r.data.articles : []);
      var errors = Array.isArray(r.data.errors) ? r.data.errors : [];
      var box = $("article-errors");
      clear(box);
      box.hidden = !errors.length;
      if (errors.length) {
        box.appendChild(el("strong", null, errors.length + " article file(s) refused by the knowledge base:"));
        var ul = el("ul", { class: "plain" });
        errors.forEach(function (e) { ul.appendChild(el("li", null, e)); });
        box.appendChild(ul);
      }
    });
  }

  function fillLanguages() {
    [["ed-language", false], ["gap-language", true]].forEach(function (pair) {
      var select = $(pair[0]), previous = select.value;
      clear(select);
      if (pair[1]) select.appendChild(el("option", { value: "" }, "All languages"));
      state.languages.forEach(function (lang) { select.appendChild(el("option", { value: lang }, lang)); });
      if (previous) select.value = previous;
    });
  }

  function renderArticles(rows) {
    var head = $("articles-head");
    clear(head);
    head.appendChild(el("th", null, "Id"));
    state.languages.forEach(function (lang) { head.appendChild(el("th", null, lang)); });
    head.appendChild(el("th", null, "Missing"));
    var body = $("articles-body");
    clear(body);
    $("articles-empty").hidden = rows.length > 0;
    rows.forEach(function (row) {
      var tr = el("tr", { "data-article-id": row.id });
      tr.appendChild(el("td", { class: "id" }, row.id));
      state.languages.forEach(function (lang) {
        var td = el("td", { lang: lang, dir: direction(lang) });
        var t = row.languages && row.languages[lang];
        if (t) {
          var open = el("button", { type: "button", class: "lang-cell", "data-language": lang, title: t.questions + " example questions" }, t.title);
          open.addEventListener("click", function () { editArticle(lang, row.id); });
          td.appendChild(open);
        } else if (canEdit()) {
          var add = el("button", { type: "button", class: "lang-missing", "data-language": lang }, "+ " + lang);
          add.addEventListener("click", function () { translate(row, lang); });
          td.appendChild(add);
        }
        tr.appendChild(td);
      });
      tr.appendChild(el("td", { class: "missing" }, row.missing && row.missing.length ? "missing in: " + row.missing.join(", ") : ""));
      body.appendChild(tr);
    });
  }

  function translate(row, language) {
    openEditor(null, { id: row.id, language: language, title: "", questions: [], body: "", handoff: "on_request", tags: [] },
      "A new translation of " + row.id);
    var langs = Object.keys(row.languages || {});
    if (langs.length) {
      var from = langs.indexOf("en") >= 0 ? "en" : langs[0];
      api("GET", "/api/knowledge/articles/" + encodeURIComponent(from) + "/" + encodeURIComponent(row.id)).then(function (r) {
        if (r.ok && r.data.article) {
          $("ed-handoff").value = r.data.article.handoff || "on_request";
          $("ed-tags").value = (r.data.article.tags || []).join(", ");
          $("editor-source").textContent = "Translating from " + from + ": " + r.data.article.title;
        }
      });
    }
  }

  function editArticle(language, id) {
    return api("GET", "/api/knowledge/articles/" + encodeURIComponent(language) + "/" + encodeURIComponent(id)).then(function (r) {
      if (failed(r, "Article")) return;
      var a = r.data.article;
      openEditor({ language: a.language, id: a.id }, a, a.path);
      renderUsage(r.data.usage);
      loadArticleHistory(a.id, a.language);
    });
  }

  // ---------------------------------------------------------------- editor

  function openEditor(editing, a, source) {
    state.editing = editing;
    state.draftId = null;
    state.clusterId = null;
    clearErrors();
    $("editor-title").textContent = editing ? "Edit " + editing.language + "/" + editing.id : "New article";
    $("editor-source").textContent = source || "";
    $("ed-id").value = a.id || "";
    $("ed-id").readOnly = !!editing;
    if (a.language && state.languages.indexOf(a.language) < 0) {
      $("ed-language").appendChild(el("option", { value: a.language }, a.language));
    }
    $("ed-language").value = a.language || state.languages[0] || "en";
    $("ed-language").disabled = !!editing;
    $("ed-title").value = a.title || "";
    $("ed-questions").value = (a.questions || []).join("\n");
    $("ed-handoff").value = a.handoff || "on_request";
    $("ed-tags").value = (a.tags || []).join(", ");
    $("ed-body").value = a.body || "";
    $("editor-status").textContent = "";
    $("try-result").textContent = "";
    $("usage-card").hidden = true;
    $("ed-history-card").hidden = true;
    applyDirection();
    preview();
    showTab("editor");
  }

  function applyDirection() {
    var dir = direction($("ed-language").value);
    ["ed-title", "ed-questions", "ed-body", "ed-preview", "try-text"].forEach(function (id) {
      $(id).setAttribute("dir", dir);
      $(id).setAttribute("lang", $("ed-language").value);
    });
  }

  function preview() { window.SupportbotMarkdown.render($("ed-body").value, $("ed-preview")); }

  function clearErrors() {
    FIELDS.forEach(function (f) { showError(f, ""); });
    $("editor-error").hidden = true;
  }

  function showError(field, message) {
    var box = document.querySelector('.field-error[data-for="' + field + '"]');
    if (!box) return false;
    box.textContent = message || "";
    box.hidden = !message;
    box.parentNode.classList.toggle("invalid", !!message);
    return true;
  }

  function collect() {
    return {
      id: $("ed-id").value.trim(),
      language: $("ed-language").value,
      title: $("ed-title").value.trim(),
      questions: $("ed-questions").value.split("\n").map(function (q) { return q.trim(); }).filter(Boolean),
      body: $("ed-body").value,
      handoff: $("ed-handoff").value,
      tags: $("ed-tags").value.split(",").map(function (t) { return t.trim(); }).filter(Boolean),
    };
  }

  function onSave(event) {
    event.preventDefault();
    if (!canEdit()) return;
    clearErrors();
    var article = collect();
    if (state.draftId) article.draft_id = state.draftId;
    var button = $("ed-save");
    button.disabled = true;
    $("editor-status").textContent = "Saving and teaching the bot…";
    api("POST", "/api/knowledge/articles", article).then(function (r) {
      button.disabled = false;
      if (!r.ok) {
        $("editor-status").textContent = "";
        var fields = r.data.fields || {};
        var placed = false, other = [];
        Object.keys(fields).forEach(function (f) {
          if (showError(f, fields[f])) placed = true; else other.push(f + ": " + fields[f]);
        });
        if (!placed || other.length) {
          $("editor-error").textContent = other.length ? other.join("; ") : str(r.data.error);
          $("editor-error").hidden = false;
        }
        var first = document.querySelector(".field.invalid input, .field.invalid textarea, .field.invalid select");
        if (first) first.focus();
        return;
      }
      var saved = r.data.article;
      var seconds = Number(r.data.live_after_seconds);
      var verb = r.data.created ? "Created" : "Saved";
      $("editor-status").textContent = verb + " " + saved.language + "/" + saved.id +
        "; the bot answers with it" + (isNaN(seconds) ? "" : " (live after " + seconds.toFixed(1) + " s)") + ".";
      flash(verb + " " + saved.title + ". Customers get it now.", "info");
      var cluster = state.clusterId;
      state.editing = { language: saved.language, id: saved.id };
      state.draftId = null;
      $("editor-title").textContent = "Edit " + saved.language + "/" + saved.id;
      $("ed-id").readOnly = true;
      $("ed-language").disabled = true;
      loadArticleHistory(saved.id, saved.language);
      loadDrafts();
      if (cluster !== null) state.clusterId = cluster;
    });
  }

  function onTry() {
    var text = $("try-text").value.trim();
    if (!text) { $("try-text").focus(); return; }
    var box = $("try-result");
    box.textContent = "…";
    api("POST", "/api/knowledge/try", { text: text, language: $("ed-language").value || null }).then(function (r) {
      clear(box);
      if (!r.ok) { box.appendChild(el("div", { class: "form-error" }, str(r.data.error))); return; }
      var decision = String(r.data.decision || "");
      var label = { answer: "answers", clarify: "asks which one", unknown: "does not know" }[decision] || decision;
      box.appendChild(el("span", { class: "decision decision-" + decision.replace(/[^a-z]/g, ""), "data-decision": decision }, "The bot " + label));
      box.appendChild(el("span", { class: "small muted" }, " (searched in " + str(r.data.language) + ")"));
      var ol = el("ol", { class: "candidates" });
      (r.data.candidates || []).slice(0, 5).forEach(function (c) {
        var li = el("li", { "data-article-id": c.id });
        li.appendChild(document.createTextNode(c.title + " "));
        li.appendChild(el("span", { class: "score" }, c.language + "/" + c.id + " · " + num(c.score)));
        ol.appendChild(li);
      });
      box.appendChild(ol);
    });
  }

  function renderUsage(usage) {
    var dl = $("ed-usage");
    clear(dl);
    $("usage-card").hidden = false;
    var u = usage || {};
    [["Answered", u.answered || 0], ["Offered in a choice", u.offered || 0],
     ["\"Didn't help\"", u.not_helpful || 0], ["Handoff after it", u.handoff || 0],
     ["Last used", u.last_used ? dateOf(u.last_used) : "never"]].forEach(function (pair) {
      dl.appendChild(el("dt", null, pair[0]));
      dl.appendChild(el("dd", null, str(pair[1])));
    });
  }

  function loadArticleHistory(id, language) {
    api("GET", "/api/knowledge/history?article=" + encodeURIComponent(id) + "&language=" + encodeURIComponent(language)).then(function (r) {
      if (!r.ok) return;
      var ul = $("ed-history");
      clear(ul);
      var changes = r.data.changes || [];
      $("ed-history-card").hidden = !changes.length;
      changes.forEach(function (c) {
        ul.appendChild(el("li", null, dateOf(c.at) + " · " + c.author + " · " + c.action + ": " + c.summary));
      });
    });
  }

  // ---------------------------------------------------------------- history

  function loadHistory() {
    return api("GET", "/api/knowledge/history").then(function (r) {
      if (failed(r, "History")) return;
      var rows = r.data.changes || [];
      var body = $("history");
      clear(body);
      $("history-empty").hidden = rows.length > 0;
      rows.forEach(function (c) {
        var tr = el("tr", { "data-change-id": c.id });
        tr.appendChild(el("td", null, dateOf(c.at)));
        tr.appendChild(el("td", null, c.author));
        var cell = el("td");
        var open = el("button", { type: "button", class: "lang-cell" }, c.language + "/" + c.article_id);
        open.addEventListener("click", function () { editArticle(c.language, c.article_id); });
        cell.appendChild(open);
        tr.appendChild(cell);
        tr.appendChild(el("td", null, c.action + ": " + c.summary));
        body.appendChild(tr);
      });
    });
  }

  // ---------------------------------------------------------------- start

  function start() {
    var tabs = document.querySelectorAll(".tab");
    for (var i = 0; i < tabs.length; i++) {
      tabs[i].addEventListener("click", function (e) { showTab(e.currentTarget.getAttribute("data-tab")); });
    }
    $("gap-status").addEventListener("change", loadGaps);
    $("gap-language").addEventListener("change", loadGaps);
    $("gaps-refresh").addEventListener("click", loadGaps);
    $("draft-status").addEventListener("change", loadDrafts);
    $("article-search").addEventListener("input", function () {
      clearTimeout(state.searchTimer);
      state.searchTimer = setTimeout(loadArticles, 200);
    });
    $("article-new").addEventListener("click", function () {
      openEditor(null, { id: "", language: state.languages[0] || "en", questions: [], tags: [] }, "");
      $("ed-id").focus();
    });
    $("editor-close").addEventListener("click", function () { showTab(state.editing ? "articles" : "gaps"); });
    $("editor").addEventListener("submit", onSave);
    $("ed-body").addEventListener("input", preview);
    $("ed-language").addEventListener("change", applyDirection);
    FIELDS.forEach(function (f) {
      var input = $("ed-" + f);
      if (input) input.addEventListener("input", function () { showError(f, ""); });
    });
    $("try-run").addEventListener("click", onTry);
    $("try-text").addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); onTry(); } });

    session.start();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
