/* supportbot agent console: plain JavaScript, no build step, no external resources.
   Every piece of text that comes from the API (customers' messages above all) is inserted with
   textContent / createTextNode, never as HTML. The login, the API calls and the flash come
   from common.js (window.SupportbotCommon), as on the writers' and reports pages. */
(function () {
  "use strict";

  var common = window.SupportbotCommon;
  var $ = common.$, el = common.el, clear = common.clear;
  var flash = common.flash, hideFlash = common.hideFlash;
  var API = "/api/agent";
  var TYPING_SHOWN_MS = 4000;  // "Customer is typing…" without a new signal
  var TYPING_EVERY_MS = 2000;  // the agent's typing is told at most this often
  var state = {
    me: null,          // {id, username, display_name, role}
    queue: [],         // the handoffs of the current view, as the API sorts them
    view: "open",      // mine | unassigned | open | resolved
    q: "",             // search over transcripts and notes
    label: "",         // label filter
    limit: 50,         // how many of the view are shown ("Show more" adds a page)
    counts: {},        // handoffs in every view (same search and label)
    viewers: {},       // handoff id -> [{username, display_name}] who have it open
    unassigned: null,  // ids of queued handoffs already known (to notify about new ones)
    sound: true,
    held: {},          // handoff ids this agent has had (to tell a transfer away)
    drafted: {},       // handoff ids saved as article drafts
    profile: null,     // the open conversation's customer profile (GET /customers/{id})
    typedAt: 0,        // Date.now() when the agent's typing was last told
    queueAt: 0,        // Date.now() when the queue was fetched (to tick waiting times)
    openId: null,      // id of the handoff in the context panel
    detail: null,      // the last GET /handoffs/{id} answer for openId
    agents: [],
    replies: [],
    seen: {},          // message keys already in the transcript (to skip duplicates)
    socket: null,
    socketWanted: false,
    retry: 0,
  };

  function setText(id, text, fallback) {
    var value = text === undefined || text === null || text === "" ? (fallback || "—") : String(text);
    $(id).textContent = value;
  }

  function str(value) {
    if (value === undefined || value === null) return "";
    if (typeof value === "string") return value;
    if (typeof value === "object") return value.display_name || value.username || value.text || value.title || JSON.stringify(value);
    return String(value);
  }

  // **bold** from the bot's answers, built from text nodes only.
  function renderText(node, text) {
    String(text || "").split(/(\*\*[^*\n]+\*\*)/).forEach(function (part) {
      if (/^\*\*[^*\n]+\*\*$/.test(part)) node.appendChild(el("strong", null, part.slice(2, -2)));
      else if (part) node.appendChild(document.createTextNode(part));
    });
  }

  // ---------------------------------------------------------------- formatting

  // "waiting 12 min": the wait as the priority reads it
  function waitText(seconds) {
    seconds = Math.max(0, Math.floor(Number(seconds) || 0));
    if (seconds < 60) return "waiting " + seconds + " s";
    var m = Math.floor(seconds / 60);
    if (m < 60) return "waiting " + m + " min";
    var h = Math.floor(m / 60);
    if (h < 48) return "waiting " + h + " h" + (m % 60 ? " " + (m % 60) + " min" : "");
    return "waiting " + Math.floor(h / 24) + " d";
  }
  function priorityText(h, seconds) {
    return (h.reason_text || String(h.reason || "").replace(/_/g, " ")) + " \u00b7 " + waitText(seconds);
  }

  function parseDate(value) {
    if (!value) return null;
    var d = new Date(value);
    return isNaN(d.getTime()) ? null : d;
  }

  function timeOf(value) {
    var d = parseDate(value);
    if (!d) return "";
    var sameDay = d.toDateString() === new Date().toDateString();
    return sameDay
      ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
      : d.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  function dateOf(value) {
    var d = parseDate(value);
    return d ? d.toLocaleString([], { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }) : str(value);
  }

  function num(value, digits) {
    var n = Number(value);
    return value === null || value === undefined || isNaN(n) ? "" : n.toFixed(digits === undefined ? 2 : digits);
  }

  function agentName(username) {
    if (!username) return "";
    if (state.me && username === state.me.username) return "you";
    for (var i = 0; i < state.agents.length; i++) {
      if (state.agents[i].username === username) return state.agents[i].display_name || username;
    }
    return username;
  }

  function isMine(h) { return !!(h && state.me && h.agent === state.me.username && h.status === "claimed"); }

  // ---------------------------------------------------------------- API (common.js)

  // the login view, sign-in and sign-out, and the API calls: common.js; the console adds what
  // it does when a session starts (onApp) and ends (onLogin)
  var session = common.session({ onApp: onApp, onLogin: onSessionEnd });

  function api(method, path, body) {
    var url = path.indexOf("/api/") === 0 ? path : API + path;  // other APIs behind the same login
    return session.api(method, url, body);
  }

  function failed(result, what) { return session.failed(result, what); }

  // ---------------------------------------------------------------- views

  // the session ended (signed out, expired): forget what was shown
  function onSessionEnd() {
    disconnect();
    state.me = null;
    state.openId = null;
    state.detail = null;
    state.profile = null;
    state.queue = [];
    clear($("queue"));
    clear($("alerts"));
    closeContext();
    document.title = "Agent console — supportbot";
  }

  function onApp(agent) {
    if (agent.role === "writer") {  // writers do not work handoffs: their page is elsewhere
      location.replace("/agent/writers");
      return;
    }
    state.me = agent;
    $("admin-replies").hidden = agent.role !== "admin";
    $("to-reports").hidden = agent.role !== "supervisor" && agent.role !== "admin";  // reports page
    closeContext();
    state.unassigned = null;
    try { state.sound = localStorage.getItem("sb-sound") !== "off"; } catch (e) { state.sound = true; }
    renderAlerts();
    loadQueue();
    loadLabels();
    checkNewHandoffs();
    loadAgents();
    loadReplies();
    connect();
  }

  // ---------------------------------------------------------------- queue

  function viewPath() {
    var params = ["view=" + encodeURIComponent(state.view), "limit=" + state.limit];
    if (state.q) params.push("q=" + encodeURIComponent(state.q));
    if (state.label) params.push("label=" + encodeURIComponent(state.label));
    return "/handoffs?" + params.join("&");
  }

  var queueSeq = 0;
  function loadQueue() {
    var seq = ++queueSeq;
    return api("GET", viewPath()).then(function (r) {
      if (seq !== queueSeq) return;  // a newer view or search won
      if (!r.ok) { failed(r, "Inbox"); return; }
      state.queue = Array.isArray(r.data.handoffs) ? r.data.handoffs : [];
      state.counts = r.data.counts || {};
      if (r.data.viewers && typeof r.data.viewers === "object") { state.viewers = r.data.viewers; renderViewers(); }
      state.more = r.data.next_offset !== null && r.data.next_offset !== undefined;
      state.queueAt = Date.now();
      renderQueue();
      // the open conversation changed hands (claimed, transferred, resolved elsewhere)?
      if (state.detail && state.openId !== null) {
        var cur = state.detail.handoff || {};
        var q = state.queue.filter(function (h) { return String(h.id) === String(state.openId); })[0];
        if (q ? q.status !== cur.status || q.agent !== cur.agent : cur.status !== "resolved") refreshDetailSoon();
      }
    });
  }

  function renderQueue() {
    var list = $("queue");
    var focusedId = document.activeElement && document.activeElement.classList &&
      document.activeElement.classList.contains("queue-item") ? document.activeElement.getAttribute("data-handoff-id") : null;
    clear(list);
    state.queue.forEach(function (h) {
      var mine = isMine(h);
      var row = el("li", {
        class: "queue-item" + (String(h.id) === String(state.openId) ? " selected" : ""),
        "data-handoff-id": h.id,
        "data-status": h.status,
        tabindex: "0",
        role: "button",
      });
      var resolved = h.status === "resolved";
      var top = el("div", { class: "qi-top" });
      top.appendChild(el("span", { class: "qi-name" }, h.customer_name || "Anonymous customer"));
      if (resolved) top.appendChild(el("span", { class: "qi-when" }, timeOf(h.resolved_at)));
      row.appendChild(top);

      var meta = el("div", { class: "qi-meta" });
      var reasonClass = "reason-" + String(h.reason || "").replace(/[^a-z_]/gi, "");
      if (resolved) meta.appendChild(el("span", { class: "reason " + reasonClass, title: "Reason" }, h.reason_text || h.reason));
      else meta.appendChild(el("span", { class: "prio " + reasonClass, title: "Why and how long (sorted by priority)", "data-waiting": h.waiting_seconds, "data-reason-text": h.reason_text || h.reason }, priorityText(h, h.waiting_seconds)));
      meta.appendChild(el("span", { class: "channel", title: "Channel" }, h.channel));
      if (h.language) meta.appendChild(el("span", { class: "lang", title: "Language" }, h.language));
      (Array.isArray(h.labels) ? h.labels : []).forEach(function (l) { meta.appendChild(el("span", { class: "qlabel", title: "Label" }, l)); });
      row.appendChild(meta);

      row.appendChild(el("div", { class: "qi-last" }, h.last_message || "(no message)"));
      if (resolved) {
        var rating = h.rating;
        row.appendChild(el("div", { class: "qi-rating" + (rating && rating.score <= 2 ? " low" : "") },
          rating ? "Rated " + rating.score + "/5" + (rating.comment ? ": \u201c" + rating.comment + "\u201d" : "")
            : h.survey_skipped ? "Resolved without survey" : "No rating yet"));
        if (h.resolution_note) row.appendChild(el("div", { class: "qi-note" }, "Note: " + h.resolution_note));
      }
      var owner = resolved ? "Resolved by " + agentName(h.agent) : h.agent ? (mine ? "Claimed by you" : "Claimed by " + agentName(h.agent)) : "Waiting for an agent";
      var viewing = (state.viewers[String(h.id)] || []).filter(function (v) { return !state.me || v.username !== state.me.username; });
      if (viewing.length) owner += " \u00b7 " + viewing.map(function (v) { return v.display_name || v.username; }).join(", ") + " viewing";
      row.appendChild(el("div", { class: "qi-owner" + (resolved ? "" : mine ? " mine" : h.agent ? " claimed" : "") }, owner));

      row.addEventListener("click", function () { openHandoff(h.id); });
      row.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); openHandoff(h.id); }
      });
      list.appendChild(row);
      if (focusedId !== null && String(h.id) === focusedId) row.focus();
    });
    setText("queue-count", state.counts[state.view] !== undefined ? state.counts[state.view] : state.queue.length, "0");
    var views = document.querySelectorAll("#views .view");
    for (var i = 0; i < views.length; i++) {
      var name = views[i].getAttribute("data-view");
      views[i].setAttribute("aria-pressed", name === state.view ? "true" : "false");
      views[i].querySelector(".count").textContent = String(state.counts[name] || 0);
    }
    var empty = $("queue-empty");
    empty.hidden = state.queue.length > 0;
    empty.textContent = state.q || state.label ? "Nothing matches." : state.view === "resolved" ? "Nothing resolved yet."
      : state.view === "mine" ? "You have no open conversations." : "No one is waiting. Nice.";
    $("queue-more").hidden = !state.more;
    var waiting = state.counts.unassigned || 0;
    document.title = (waiting ? "(" + waiting + ") " : "") + "Agent console — supportbot";
  }

  function tick() {
    if (!state.queueAt) return;
    var elapsed = (Date.now() - state.queueAt) / 1000;
    var cells = document.querySelectorAll("#queue .prio");
    for (var i = 0; i < cells.length; i++) {
      var base = Number(cells[i].getAttribute("data-waiting")) || 0;
      cells[i].textContent = priorityText({ reason_text: cells[i].getAttribute("data-reason-text") }, base + elapsed);
    }
  }

  function setView(view) {
    if (view === state.view) return;
    state.view = view;
    state.limit = 50;
    loadQueue();
  }

  var searchTimer = null;
  function onSearch() {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () {
      var q = $("search").value.trim();
      var label = $("label-filter").value;
      if (q === state.q && label === state.label) return;
      state.q = q;
      state.label = label;
      state.limit = 50;
      loadQueue();
    }, 250);
  }

  function loadLabels() {
    return api("GET", "/labels").then(function (r) {
      if (!r.ok) return;
      var labels = Array.isArray(r.data.labels) ? r.data.labels : [];
      var select = $("label-filter");
      var current = select.value;
      clear(select);
      select.appendChild(el("option", { value: "" }, "All labels"));
      var options = $("label-options");
      clear(options);
      labels.forEach(function (l) {
        select.appendChild(el("option", { value: l.label }, l.label + " (" + l.conversations + ")"));
        options.appendChild(el("option", { value: l.label }));
      });
      if (current && !labels.some(function (l) { return l.label === current; })) {
        select.appendChild(el("option", { value: current }, current));
      }
      select.value = current;
    });
  }

  // ---------------------------------------------------------------- new handoffs: notify

  // A queued handoff not seen before, while this tab is in the background: a desktop
  // notification (once the agent allowed them) and a short beep made here (no audio file).
  function checkNewHandoffs() {
    return api("GET", "/handoffs?view=unassigned&limit=200").then(function (r) {
      if (!r.ok) return;
      var list = Array.isArray(r.data.handoffs) ? r.data.handoffs : [];
      var known = state.unassigned;
      state.unassigned = {};
      list.forEach(function (h) { state.unassigned[String(h.id)] = true; });
      if (known === null) return;  // the first look: nothing is new
      var fresh = list.filter(function (h) { return !known[String(h.id)]; });
      if (!fresh.length || !document.hidden) return;
      if (state.sound) beep();
      if (window.Notification && Notification.permission === "granted") {
        var h = fresh[0];
        try {
          var n = new Notification("New handoff: " + (h.customer_name || "a customer"), {
            body: priorityText(h, h.waiting_seconds) + (fresh.length > 1 ? " (+" + (fresh.length - 1) + " more)" : ""),
            tag: "handoff-" + h.id,
          });
          n.onclick = function () { window.focus(); openHandoff(h.id); n.close(); };
        } catch (e) { /* notifications unavailable here */ }
      }
    });
  }

  var audio = null;
  function beep() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      audio = audio || new Ctx();
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.2, audio.currentTime + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.3);
      state.beeps = (state.beeps || 0) + 1;
      document.body.setAttribute("data-beeps", String(state.beeps));
    } catch (e) { /* no sound here */ }
  }

  function renderAlerts() {
    var sound = $("sound-toggle");
    sound.textContent = state.sound ? "Sound on" : "Sound off";
    sound.setAttribute("aria-pressed", state.sound ? "true" : "false");
    $("notify-enable").hidden = !(window.Notification && Notification.permission === "default");
  }

  function onSoundToggle() {
    state.sound = !state.sound;
    try { localStorage.setItem("sb-sound", state.sound ? "on" : "off"); } catch (e) { /* private mode */ }
    if (state.sound) beep();  // a sample, and browsers let audio start after a click
    renderAlerts();
  }

  function onNotifyEnable() {
    if (!window.Notification) return;
    Promise.resolve(Notification.requestPermission()).then(renderAlerts, renderAlerts);
  }

  // ---------------------------------------------------------------- agents & saved replies

  function loadAgents() {
    return api("GET", "/agents").then(function (r) {
      if (!r.ok) return;
      state.agents = Array.isArray(r.data.agents) ? r.data.agents : [];
      renderAgents();
      renderQueue();
      if (state.detail) renderDetail(false);
    });
  }

  function renderAgents() {
    var select = $("transfer-agent");
    var previous = select.value;
    clear(select);
    select.appendChild(el("option", { value: "" }, "Transfer to…"));
    state.agents.forEach(function (a) {
      if (state.me && a.username === state.me.username) return;
      var label = (a.display_name || a.username) + (a.online ? " (online)" : "");
      select.appendChild(el("option", { value: a.username }, label));
    });
    select.value = previous;
    if (select.value !== previous) select.value = "";
  }

  function loadReplies() {
    return api("GET", "/saved-replies").then(function (r) {
      if (!r.ok) return;
      state.replies = Array.isArray(r.data.replies) ? r.data.replies : [];
      renderReplies();
    });
  }

  function renderReplies() {
    var select = $("saved-replies");
    clear(select);
    select.appendChild(el("option", { value: "" }, state.replies.length ? "Saved replies…" : "No saved replies"));
    state.replies.forEach(function (reply) {
      select.appendChild(el("option", { value: reply.id, title: reply.text }, reply.title));
    });
    var list = $("saved-list");
    clear(list);
    if (!state.replies.length) list.appendChild(el("li", { class: "muted" }, "None yet."));
    state.replies.forEach(function (reply) {
      var li = el("li", { "data-reply-id": reply.id });
      li.appendChild(el("span", { title: reply.text }, reply.title));
      var del = el("button", { type: "button", class: "btn-link", title: "Delete" }, "Delete");
      del.addEventListener("click", function () {
        api("DELETE", "/saved-replies/" + encodeURIComponent(reply.id)).then(function (r) {
          if (!failed(r, "Delete saved reply")) loadReplies();
        });
      });
      li.appendChild(del);
      list.appendChild(li);
    });
  }

  function onSavedReply() {
    var select = $("saved-replies");
    var id = select.value;
    select.value = "";
    if (!id) return;
    var reply = state.replies.filter(function (r) { return String(r.id) === id; })[0];
    if (!reply) return;
    var area = $("reply-text");
    if (area.disabled) return;
    var start = area.selectionStart, end = area.selectionEnd, value = area.value;
    if (typeof start !== "number" || document.activeElement !== area && value) { start = end = value.length; }
    var insert = String(reply.text || "");
    if (start > 0 && !/\s$/.test(value.slice(0, start))) insert = " " + insert;
    area.value = value.slice(0, start) + insert + value.slice(end);
    area.focus();
    area.selectionStart = area.selectionEnd = start + insert.length;
  }

  function onSavedAdd() {
    var title = $("saved-title").value.trim(), text = $("saved-text").value.trim();
    if (!title || !text) { flash("A saved reply needs a title and a text.", "error"); return; }
    api("POST", "/saved-replies", { title: title, text: text }).then(function (r) {
      if (failed(r, "Add saved reply")) return;
      $("saved-title").value = "";
      $("saved-text").value = "";
      loadReplies();
    });
  }

  // ---------------------------------------------------------------- context panel

  function sendViewing() {
    if (state.socket && state.socket.readyState === 1) {
      var id = state.openId === null ? null : Number(state.openId);
      try { state.socket.send(JSON.stringify({ type: "viewing", handoff_id: id })); } catch (e) { /* reconnects */ }
    }
  }

  function closeContext() {
    hideCustomerTyping();
    state.profile = null;
    state.openId = null;
    sendViewing();
    state.detail = null;
    $("context-body").hidden = true;
    $("context-empty").hidden = false;
  }

  var loadSeq = 0;
  function openHandoff(id) {
    var switching = String(id) !== String(state.openId);
    state.openId = id;
    if (switching) {
      hideCustomerTyping();
      state.profile = null;
      $("cust-note-text").value = "";
      clear($("merge-results"));
      $("merge-search").value = "";
      sendViewing();
      $("label-text").value = "";
      loadReplies();
      $("reply-text").value = "";
      $("note-text").value = "";
      $("resolve-note").value = "";
    }
    var rows = document.querySelectorAll("#queue .queue-item");
    for (var i = 0; i < rows.length; i++) {
      rows[i].classList.toggle("selected", rows[i].getAttribute("data-handoff-id") === String(id));
    }
    return loadDetail(switching);
  }

  function loadDetail(scrollToEnd) {
    var id = state.openId;
    if (id === null) return Promise.resolve();
    var seq = ++loadSeq;
    return api("GET", "/handoffs/" + encodeURIComponent(id)).then(function (r) {
      if (seq !== loadSeq || String(id) !== String(state.openId)) return;  // a newer load won
      if (!r.ok) {
        failed(r, "Conversation");
        if (r.status === 404) closeContext();
        return;
      }
      state.detail = r.data;
      renderDetail(scrollToEnd);
    });
  }

  function renderDetail(scrollToEnd) {
    var d = state.detail || {};
    var h = d.handoff || {};
    var c = d.customer || {};
    var s = d.summary || {};
    var sig = d.signals || {};
    $("context-empty").hidden = true;
    $("context-body").hidden = false;
    $("context-body").setAttribute("data-handoff-id", h.id);

    setText("ctx-customer", c.name || h.customer_name, "Anonymous customer");
    setText("ctx-reason", h.reason);
    setText("ctx-priority", h.status === "resolved" ? h.reason_text : h.priority_text);
    setText("ctx-channel", h.channel || c.channel);
    setText("ctx-language", h.language);
    applyDirection(h.language);
    renderHandoffState(h);

    if (!state.profile || String(state.profile.asked_id) !== String(c.id)) {
      // until the profile arrives: what the handoff itself says
      renderCustomer({ name: c.name || h.customer_name, email: c.email, verified: c.verified,
        channels: [c.channel || h.channel], first_seen: c.first_seen });
      setText("cust-earlier", c.earlier_conversations, "0");
      if (c.id) loadProfile(c.id);
    }

    setText("sum-first", s.first_problem);
    setText("sum-why", s.why);
    renderTried(Array.isArray(s.tried) ? s.tried : []);
    setText("sum-last", s.last_message || h.last_message);
    var ul = $("sum-unanswered");
    clear(ul);
    var unanswered = Array.isArray(s.unanswered) ? s.unanswered : [];
    if (!unanswered.length) ul.appendChild(el("li", { class: "muted" }, "none"));
    unanswered.forEach(function (q) { ul.appendChild(el("li", null, str(q))); });

    var score = Number(sig.score) || 0;
    var bar = $("frustration-bar");
    var pct = Math.max(0, Math.min(1, score)) * 100;
    bar.style.width = pct + "%";
    bar.className = score >= 0.66 ? "high" : score >= 0.33 ? "mid" : "";
    setText("frustration-score", "Score " + num(score));
    var tags = $("signals");
    clear(tags);
    var signals = Array.isArray(sig.signals) ? sig.signals : [];
    if (!signals.length) tags.appendChild(el("li", { class: "none" }, "no signals"));
    signals.forEach(function (x) { tags.appendChild(el("li", null, str(x))); });

    renderTranscript(Array.isArray(d.transcript) ? d.transcript : [], scrollToEnd);
    renderNotes(Array.isArray(d.notes) ? d.notes : []);
    renderLabels(Array.isArray(d.labels) ? d.labels : []);
    renderOutcome(h, d.rating);
    renderViewers();
  }

  function renderOutcome(h, rating) {
    $("outcome").hidden = h.status !== "resolved";
    setText("out-rating", rating ? rating.score + "/5" : h.survey_skipped ? "not asked (resolved without survey)" : "not rated yet");
    setText("out-comment", rating && rating.comment ? rating.comment : "", "none");
    setText("out-note", h.resolution_note, "none");
  }

  function renderViewers() {
    var box = $("ctx-viewers");
    var others = (state.viewers[String(state.openId)] || []).filter(function (v) {
      return !state.me || v.username !== state.me.username;
    });
    box.hidden = !others.length;
    box.textContent = others.length
      ? others.map(function (v) { return v.display_name || v.username; }).join(", ") + (others.length > 1 ? " are viewing" : " is viewing")
      : "";
  }

  function renderLabels(labels) {
    var list = $("labels");
    clear(list);
    if (!labels.length) list.appendChild(el("li", { class: "none" }, "no labels"));
    labels.forEach(function (label) {
      var item = el("li", { "data-label": label });
      item.appendChild(el("span", null, label));
      var remove = el("button", { type: "button", class: "label-remove", title: "Remove label " + label, "aria-label": "Remove label " + label }, "\u00d7");
      remove.addEventListener("click", function () { onLabelRemove(label); });
      item.appendChild(remove);
      list.appendChild(item);
    });
  }

  function labelsChanged(id, labels) {
    if (state.detail && String(id) === String(state.openId)) {
      state.detail.labels = labels;
      renderLabels(labels);
    }
    loadLabels();
    refreshQueueSoon();
  }

  function onLabelAdd(event) {
    event.preventDefault();
    var id = state.openId;
    var text = $("label-text").value.trim();
    if (id === null || !text) { $("label-text").focus(); return; }
    withButton($("label-add"), api("POST", "/handoffs/" + encodeURIComponent(id) + "/labels", { label: text })).then(function (r) {
      if (failed(r, "Label")) return;
      $("label-text").value = "";
      labelsChanged(id, r.data.labels || []);
    });
  }

  function onLabelRemove(label) {
    var id = state.openId;
    if (id === null) return;
    api("DELETE", "/handoffs/" + encodeURIComponent(id) + "/labels/" + encodeURIComponent(label)).then(function (r) {
      if (failed(r, "Label")) return;
      labelsChanged(id, r.data.labels || []);
    });
  }

  // The customer's language decides the direction of the transcript and the reply box:
  // Persian (and other right-to-left languages) right to left; each message is dir="auto" too,
  // so a Latin order number or an English line inside it reads the right way.
  var RTL = ["fa", "ar", "he", "ur", "ps", "yi", "dv", "ckb"];
  function direction(language) {
    var base = String(language || "").toLowerCase().replace("_", "-").split("-")[0];
    return RTL.indexOf(base) >= 0 ? "rtl" : "ltr";
  }
  function applyDirection(language) {
    var dir = direction(language);
    $("transcript").setAttribute("dir", dir);
    $("reply-text").setAttribute("dir", dir);
    if (language) $("transcript").setAttribute("lang", String(language));
    else $("transcript").removeAttribute("lang");
  }

  function renderHandoffState(h) {
    var mine = isMine(h);
    var chip = $("ctx-status-chip");
    var status = h.status || "";
    chip.className = "chip" + (status === "resolved" ? " resolved" : mine ? " mine" : status === "claimed" ? " claimed" : "");
    setText("ctx-status", status === "claimed" ? (mine ? "Claimed by you" : "Claimed by " + agentName(h.agent))
      : status === "resolved" ? "Resolved" : status === "queued" ? "Waiting for an agent" : status);

    var claim = $("claim");
    // only a queued conversation can be claimed: one claimed by someone else (before a reload
    // too) or handed over by this agent shows who has it instead of an active Claim
    if (mine) state.held[String(h.id)] = true;
    var others = status === "claimed" && !mine;
    var handedOver = others && !!state.held[String(h.id)];
    claim.disabled = status !== "queued";
    claim.textContent = mine ? "Claimed" : handedOver ? "Transferred to " + agentName(h.agent)
      : others ? "Claimed by " + agentName(h.agent) : "Claim";
    claim.title = others ? "Claimed by " + agentName(h.agent) : "";

    var canAct = mine;
    var isAdmin = state.me && state.me.role === "admin";
    $("reply-text").disabled = !canAct;
    $("reply-send").disabled = !canAct;
    $("saved-replies").disabled = !canAct;
    $("reply-text").placeholder = canAct ? "Write a reply to the customer (Ctrl+Enter to send)"
      : status === "resolved" ? "This conversation is resolved." : "Claim this conversation to reply.";
    setText("reply-hint", canAct ? "The customer sees your display name." : "", " ");
    var open = status === "queued" || status === "claimed";
    $("resolve").disabled = !open || (status === "claimed" && !mine && !isAdmin);
    $("resolve-quiet").disabled = $("resolve").disabled;
    $("resolve-note").disabled = $("resolve").disabled;
    $("draft-offer").hidden = status !== "resolved";
    $("save-draft").disabled = !!state.drafted[String(h.id)];  // made once per handoff
    $("transfer").disabled = status !== "claimed" || !(mine || isAdmin);
    $("transfer-agent").disabled = $("transfer").disabled;
  }

  // Messages arrive twice at times (the reply's own answer and the live event, in either
  // order, neither always with an id): skip a copy of one shown a moment ago. The next full
  // reload of the conversation is authoritative anyway.
  var recent = {};
  function messageKey(m) {
    if (m.id !== undefined && m.id !== null) return "id:" + m.id;
    return "s:" + m.sender + "|" + m.text + "|" + m.at;
  }
  function shortKey(m) { return m.sender + "|" + m.text; }

  function renderTranscript(messages, scrollToEnd) {
    var box = $("transcript");
    var atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    clear(box);
    state.seen = {};
    recent = {};
    if (!messages.length) box.appendChild(el("div", { class: "empty" }, "No messages yet."));
    messages.forEach(function (m) { box.appendChild(renderMessage(m)); });
    if (scrollToEnd || atEnd) box.scrollTop = box.scrollHeight;
  }

  function renderMessage(m) {
    state.seen[messageKey(m)] = true;
    recent[shortKey(m)] = Date.now();
    var sender = ["customer", "bot", "agent", "system"].indexOf(m.sender) >= 0 ? m.sender : "system";
    var node = el("div", { class: "msg", "data-sender": sender });
    if (m.id !== undefined && m.id !== null) node.setAttribute("data-message-id", m.id);
    var head = el("div", { class: "msg-head" });
    var by = m.agent || (m.custom && m.custom.agent);
    var who = sender === "agent" && by ? "agent · " + agentName(str(by)) : sender;
    head.appendChild(el("span", { class: "msg-who" }, who));
    head.appendChild(el("span", { class: "msg-at", title: str(m.at) }, timeOf(m.at)));
    node.appendChild(head);
    var body = el("div", { class: "msg-text", dir: "auto" });
    if (sender === "bot") renderText(body, m.text); else body.textContent = String(m.text === undefined || m.text === null ? "" : m.text);
    node.appendChild(body);

    if (sender === "customer") {
      var meta = el("div", { class: "msg-meta", dir: "ltr" });  // the console's own English
      var has = false;
      if (m.intent) {
        var line = el("div", { class: "intent" });
        line.appendChild(el("span", { class: "k" }, "Intent "));
        line.appendChild(document.createTextNode(str(m.intent) + (m.confidence !== undefined && m.confidence !== null ? " (" + num(m.confidence) + ")" : "")));
        meta.appendChild(line); has = true;
      }
      if (m.decision) {
        var dec = el("div", { class: "decision" });
        dec.appendChild(el("span", { class: "k" }, "Bot decision "));
        dec.appendChild(document.createTextNode(str(m.decision)));
        meta.appendChild(dec); has = true;
      }
      var articles = Array.isArray(m.articles) ? m.articles : [];
      if (articles.length) {
        var wrap = el("div", { class: "tried" });
        wrap.appendChild(el("span", { class: "k" }, "Articles tried"));
        var ol = el("ol", { class: "articles" });
        articles.forEach(function (a) {
          var li = el("li", { "data-article-id": a.id });
          li.appendChild(document.createTextNode((a.title || a.id || "article") + " "));
          li.appendChild(el("span", { class: "k" }, num(a.score)));
          ol.appendChild(li);
        });
        wrap.appendChild(ol);
        meta.appendChild(wrap); has = true;
      }
      if (m.frustration !== undefined && m.frustration !== null) {
        var f = el("div", { class: "frustration" });
        f.appendChild(el("span", { class: "k" }, "Frustration "));
        f.appendChild(el("span", { class: Number(m.frustration) >= 0.5 ? "hot" : "" }, num(m.frustration)));
        meta.appendChild(f); has = true;
      }
      if (has) node.appendChild(meta);
    }
    return node;
  }

  function appendMessage(m) {
    if (!m || state.seen[messageKey(m)]) return;
    var hasId = m.id !== undefined && m.id !== null;
    if (!hasId && recent[shortKey(m)] && Date.now() - recent[shortKey(m)] < 10000) return;
    var box = $("transcript");
    var atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    if (!m.at) m = Object.assign({}, m, { at: new Date().toISOString() });  // live: "now"
    var placeholder = box.querySelector(".empty");
    if (placeholder) placeholder.remove();
    box.appendChild(renderMessage(m));
    if (atEnd || m.sender === "agent") box.scrollTop = box.scrollHeight;
  }

  function renderNotes(notes) {
    var ul = $("notes");
    clear(ul);
    if (!notes.length) ul.appendChild(el("li", { class: "none" }, "No notes yet."));
    notes.forEach(function (n) {
      var li = el("li", { class: "note" });
      li.appendChild(el("div", { class: "note-head" }, agentName(str(n.agent)) + (n.at ? " · " + timeOf(n.at) : "")));
      li.appendChild(el("div", { class: "note-text" }, n.text));
      ul.appendChild(li);
    });
  }

  // ---------------------------------------------------------------- what the bot tried

  function renderTried(tried) {
    var ul = $("sum-tried");
    clear(ul);
    if (!tried.length) ul.appendChild(el("li", { class: "muted" }, "nothing: no article was searched"));
    tried.forEach(function (t) {
      var li = el("li", { "data-decision": str(t.decision) });
      li.appendChild(el("span", { class: "q" }, "\u201c" + str(t.question) + "\u201d"));
      li.appendChild(document.createTextNode(str(t.text)));
      ul.appendChild(li);
    });
  }

  // ---------------------------------------------------------------- typing, both ways

  var typingTimer = null;
  function showCustomerTyping() {
    $("customer-typing").hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideCustomerTyping, TYPING_SHOWN_MS);
  }
  function hideCustomerTyping() {
    clearTimeout(typingTimer);
    $("customer-typing").hidden = true;
  }

  // the customer sees "Ana is typing…": told at most every 2 s, only for one's own conversation
  function onReplyTyping() {
    var id = state.openId;
    if (id === null || !state.detail || !isMine(state.detail.handoff)) return;
    if (!$("reply-text").value.trim()) return;
    var now = Date.now();
    if (now - state.typedAt < TYPING_EVERY_MS) return;
    state.typedAt = now;
    api("POST", "/handoffs/" + encodeURIComponent(id) + "/typing", {});  // best effort
  }

  // ---------------------------------------------------------------- the customer's profile

  var profileSeq = 0;
  function loadProfile(customerId) {
    var seq = ++profileSeq;
    var openId = state.openId;
    return api("GET", "/customers/" + encodeURIComponent(customerId)).then(function (r) {
      if (seq !== profileSeq || String(openId) !== String(state.openId)) return;
      if (failed(r, "Customer")) return;
      showProfile(r.data.customer, customerId);
    });
  }

  function showProfile(profile, askedId) {
    if (!profile) return;
    state.profile = Object.assign({}, profile, { asked_id: askedId !== undefined ? askedId : profile.asked_id });
    renderCustomer(state.profile);
  }

  function renderCustomer(p) {
    setText("cust-name", p.name, "Anonymous customer");
    var badge = $("cust-verified");
    badge.hidden = false;
    badge.className = "verified" + (p.verified ? "" : " no");
    badge.textContent = p.verified ? "verified" : "not verified";
    badge.title = p.verified ? "The shop vouched for this customer: " + str(p.verified) : "Not vouched for by the shop";
    setText("cust-email", p.email, "not given");
    setText("cust-channel", (Array.isArray(p.channels) ? p.channels : []).join(", "));
    setText("cust-first-seen", p.first_seen ? dateOf(p.first_seen) : "");

    var attrs = $("cust-attributes");
    clear(attrs);
    var values = p.attributes && typeof p.attributes === "object" ? p.attributes : {};
    Object.keys(values).sort().forEach(function (key) {
      attrs.appendChild(el("dt", null, key));
      attrs.appendChild(el("dd", { "data-attribute": key }, str(values[key])));
    });

    if (Array.isArray(p.conversations)) setText("cust-earlier", Math.max(0, p.conversations.length - 1), "0");
    var convs = $("cust-conversations");
    clear(convs);
    var conversations = Array.isArray(p.conversations) ? p.conversations : [];
    var current = state.detail && state.detail.handoff ? state.detail.handoff.conversation_key : null;
    if (!conversations.length) convs.appendChild(el("li", { class: "none muted" }, p.conversations ? "None." : "Loading…"));
    conversations.forEach(function (c) {
      var here = c.key === current;
      var li = el("li", { class: here ? "current" : "", "data-conversation": c.key });
      var head = el("div", { class: "conv-head" });
      head.appendChild(el("span", { class: "badge" }, c.channel));
      head.appendChild(el("span", null, dateOf(c.started)));
      if (here) head.appendChild(el("span", null, "this conversation"));
      li.appendChild(head);
      li.appendChild(el("div", { class: "conv-first", dir: "auto" }, c.first_message || "(no message)"));
      li.appendChild(el("div", { class: "conv-outcome" }, c.outcome));
      if (c.handoff_id && !here) {
        var open = el("button", { type: "button", class: "btn-link open-conv" }, "Open");
        open.addEventListener("click", function () { openHandoff(c.handoff_id); });
        li.appendChild(open);
      }
      convs.appendChild(li);
    });

    var notes = $("cust-notes");
    clear(notes);
    var list = Array.isArray(p.notes) ? p.notes : [];
    if (!list.length) notes.appendChild(el("li", { class: "none" }, "No notes on this customer."));
    list.forEach(function (n) {
      var li = el("li", { class: "note" });
      li.appendChild(el("div", { class: "note-head" }, agentName(str(n.agent)) + (n.at ? " · " + timeOf(n.at) : "")));
      li.appendChild(el("div", { class: "note-text" }, n.text));
      notes.appendChild(li);
    });

    var merges = $("cust-merges");
    clear(merges);
    (Array.isArray(p.merges) ? p.merges : []).forEach(function (m) {
      var who = m.merged || {};
      var li = el("li", { "data-merge-id": m.id });
      li.appendChild(el("span", null, "Merged: " + (who.name || "customer #" + who.id) + " · " + str(who.channel) +
        (m.agent ? " · by " + agentName(str(m.agent)) : "")));
      var undo = el("button", { type: "button", class: "btn undo-merge" }, "Undo merge");
      undo.addEventListener("click", function () { onUndoMerge(m.id, undo); });
      li.appendChild(undo);
      merges.appendChild(li);
    });
  }

  function onCustomerNote() {
    var p = state.profile;
    var area = $("cust-note-text");
    var text = area.value.trim();
    if (!p || !text) { area.focus(); return; }
    withButton($("cust-note-add"), api("POST", "/customers/" + encodeURIComponent(p.id) + "/notes", { text: text })).then(function (r) {
      if (failed(r, "Note on customer")) return;
      area.value = "";
      if (state.profile && state.profile.id === p.id) {
        state.profile.notes = (state.profile.notes || []).concat([r.data.note]);
        renderCustomer(state.profile);
      }
    });
  }

  function onMergeSearch() {
    var q = $("merge-search").value.trim();
    var list = $("merge-results");
    clear(list);
    if (!q || !state.profile) return;
    api("GET", "/customers?q=" + encodeURIComponent(q)).then(function (r) {
      if (failed(r, "Find customer")) return;
      var found = Array.isArray(r.data.customers) ? r.data.customers : [];
      clear(list);
      if (!found.length) list.appendChild(el("li", { class: "none muted" }, "No customer matches."));
      found.forEach(function (c) {
        var same = state.profile && c.root_id === state.profile.id;
        var li = el("li", { "data-customer-id": c.id });
        li.appendChild(el("span", null, (c.name || "customer") + " · " + str(c.channel) + (c.email ? " · " + c.email : "") + " · #" + c.id));
        var merge = el("button", { type: "button", class: "btn merge-this" }, same ? "Already this customer" : "Merge into this profile");
        merge.disabled = same;
        merge.addEventListener("click", function () { onMerge(c.id, merge); });
        li.appendChild(merge);
        list.appendChild(li);
      });
    });
  }

  function onMerge(otherId, button) {
    var p = state.profile;
    if (!p) return;
    withButton(button, api("POST", "/customers/" + encodeURIComponent(p.id) + "/merge", { customer_id: otherId })).then(function (r) {
      if (failed(r, "Merge")) return;
      clear($("merge-results"));
      $("merge-search").value = "";
      $("cust-merge").open = false;
      showProfile(r.data.customer, p.asked_id);
      flash("Merged: one profile now.", "info");
    });
  }

  function onUndoMerge(mergeId, button) {
    var p = state.profile;
    withButton(button, api("POST", "/customers/merges/" + encodeURIComponent(mergeId) + "/undo", {})).then(function (r) {
      if (failed(r, "Undo merge")) return;
      // the open conversation's own profile (it may have been the merged one)
      if (p) loadProfile(p.asked_id);
      flash("Merge undone: two profiles again.", "info");
    });
  }

  // ---------------------------------------------------------------- actions

  function withButton(button, promise) {
    button.disabled = true;
    return promise.then(function (r) { button.disabled = false; return r; });
  }

  function updateHandoff(h) {
    if (!h) return;
    var found = false;
    state.queue = state.queue.map(function (q) {
      if (String(q.id) === String(h.id)) { found = true; return Object.assign({}, q, h); }
      return q;
    });
    if (found && h.status === "resolved" && state.view !== "resolved") {
      state.queue = state.queue.filter(function (q) { return String(q.id) !== String(h.id); });
    }
    renderQueue();
    if (state.detail && String(h.id) === String(state.openId)) {
      state.detail.handoff = Object.assign({}, state.detail.handoff, h);
      renderHandoffState(state.detail.handoff);
      var cur = state.detail.handoff;
      setText("ctx-priority", cur.status === "resolved" ? cur.reason_text : cur.priority_text);
      setText("ctx-reason", state.detail.handoff.reason);
    }
  }

  function onClaim() {
    var id = state.openId;
    if (id === null) return;
    withButton($("claim"), api("POST", "/handoffs/" + encodeURIComponent(id) + "/claim", {})).then(function (r) {
      if (!r.ok) {
        if (r.status === 409) {
          flash(str(r.data.error) || "Someone else has this conversation.", "error");
          loadDetail(false);
          loadQueue();
        } else failed(r, "Claim");
        return;
      }
      updateHandoff(r.data.handoff);
      flash("You have this conversation now.", "info");
      $("reply-text").focus();
    });
  }

  function onReply() {
    var id = state.openId;
    var area = $("reply-text");
    var text = area.value.trim();
    if (id === null || !text) { if (!text) area.focus(); return; }
    withButton($("reply-send"), api("POST", "/handoffs/" + encodeURIComponent(id) + "/messages", { text: text })).then(function (r) {
      if (failed(r, "Reply")) { if (r.status === 409) loadDetail(false); return; }
      if (String(id) === String(state.openId)) {
        area.value = "";
        var m = r.data.message;
        if (m) appendMessage(Object.assign({ sender: "agent" }, m));
        $("transcript").scrollTop = $("transcript").scrollHeight;
        renderHandoffState(state.detail.handoff);  // withButton re-enabled the button
      }
    });
  }

  function onNote() {
    var id = state.openId;
    var area = $("note-text");
    var text = area.value.trim();
    if (id === null || !text) { if (!text) area.focus(); return; }
    withButton($("note-add"), api("POST", "/handoffs/" + encodeURIComponent(id) + "/notes", { text: text })).then(function (r) {
      if (failed(r, "Note")) return;
      if (String(id) !== String(state.openId)) return;
      area.value = "";
      var note = r.data.note || { agent: state.me.username, text: text, at: new Date().toISOString() };
      state.detail.notes = (state.detail.notes || []).concat([note]);
      renderNotes(state.detail.notes);
    });
  }

  function onTransfer() {
    var id = state.openId;
    var to = $("transfer-agent").value;
    if (id === null) return;
    if (!to) { flash("Choose an agent to transfer to.", "error"); $("transfer-agent").focus(); return; }
    withButton($("transfer"), api("POST", "/handoffs/" + encodeURIComponent(id) + "/transfer", { agent: to })).then(function (r) {
      if (failed(r, "Transfer")) { if (state.detail) renderHandoffState(state.detail.handoff); return; }
      $("transfer-agent").value = "";
      updateHandoff(r.data.handoff);
      flash("Transferred to " + agentName(to) + ".", "info");
    });
  }

  // survey false: "Resolve without survey", the customer is not asked for a rating
  function onResolve(survey) {
    var id = state.openId;
    var area = $("resolve-note");
    var note = area.value.trim();
    if (id === null) return;
    if (!note) { flash("Write a resolution note before resolving.", "error"); area.focus(); return; }
    var button = survey ? $("resolve") : $("resolve-quiet");
    withButton(button, api("POST", "/handoffs/" + encodeURIComponent(id) + "/resolve", { note: note, survey: survey })).then(function (r) {
      if (failed(r, "Resolve")) { if (state.detail) renderHandoffState(state.detail.handoff); return; }
      area.value = "";
      updateHandoff(r.data.handoff || { id: id, status: "resolved" });
      flash(survey ? "Resolved. The bot asks the customer for a rating (unless they were asked recently)."
        : "Resolved without a survey: the customer is back with the bot.", "info");
      loadQueue();
      loadDetail(true);
    });
  }

  // After resolving: the customer's questions and the agent's answers as an article draft
  // for the writers (POST /api/knowledge/drafts); made once per handoff.
  function onSaveDraft() {
    var id = state.openId;
    if (id === null) return;
    withButton($("save-draft"), api("POST", "/api/knowledge/drafts", { handoff_id: Number(id) })).then(function (r) {
      if (failed(r, "Draft")) return;
      state.drafted[String(id)] = true;
      $("save-draft").disabled = true;
      flash(r.data.created ? "Saved as a draft for the writers: " + str(r.data.draft && r.data.draft.title)
        : "This conversation is already a draft for the writers.", "info");
    });
  }

  // ---------------------------------------------------------------- low satisfaction alerts

  // A csat score <= 2 (sent to supervisors and admins only), and again with the customer's
  // "what went wrong?" comment when it arrives: one dismissible card per rating, text only.
  function showLowRating(r) {
    var box = $("alerts");
    var id = String(r.rating_id);
    var card = el("div", { class: "alert", role: "alert", "data-rating-id": id });
    var head = el("div", { class: "alert-head" });
    head.appendChild(el("strong", null, "Low rating " + str(r.score) + "/5"));
    head.appendChild(el("span", null, "from " + (str(r.customer) || "a customer")));
    var close = el("button", { type: "button", class: "alert-close", title: "Dismiss", "aria-label": "Dismiss" }, "\u00d7");
    close.addEventListener("click", function () { card.remove(); });
    head.appendChild(close);
    card.appendChild(head);
    var meta = [str(r.channel), r.language ? str(r.language) : "", r.handoff_id ? "handoff #" + r.handoff_id : str(r.conversation)];
    if (r.agent) meta.push("resolved by " + str(r.agent));
    card.appendChild(el("div", { class: "alert-meta" }, meta.filter(Boolean).join(" · ")));
    card.appendChild(r.comment
      ? el("div", { class: "alert-comment" }, str(r.comment))
      : el("div", { class: "alert-comment none" }, "No comment yet: the customer was asked what went wrong."));
    if (r.handoff_id) {
      var open = el("button", { type: "button", class: "alert-open" }, "Open conversation");
      open.addEventListener("click", function () { openHandoff(r.handoff_id); });
      card.appendChild(open);
    }
    var old = box.querySelector('.alert[data-rating-id="' + id.replace(/[^0-9]/g, "") + '"]');
    if (old) box.replaceChild(card, old);
    else box.insertBefore(card, box.firstChild);
  }

  // ---------------------------------------------------------------- live updates

  function setConn(live) {
    var c = $("conn");
    c.textContent = live ? "live" : "reconnecting…";
    c.classList.toggle("live", live);
  }

  function connect() {
    state.socketWanted = true;
    if (state.socket) return;
    var url = location.protocol.replace(/^http/, "ws") + "//" + location.host + API + "/ws";
    var socket;
    try { socket = new WebSocket(url); } catch (e) { scheduleReconnect(); return; }
    state.socket = socket;
    socket.onopen = function () {
      state.retry = 0;
      setConn(true);
      // catch up on anything missed while disconnected
      loadQueue();
      checkNewHandoffs();
      sendViewing();
      if (state.openId !== null) loadDetail(false);
    };
    socket.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      onEvent(data);
    };
    socket.onclose = function () {
      if (state.socket === socket) state.socket = null;
      setConn(false);
      if (state.socketWanted) scheduleReconnect();
    };
    socket.onerror = function () { /* onclose follows */ };
  }

  var reconnectTimer = null;
  function scheduleReconnect() {
    clearTimeout(reconnectTimer);
    var delay = Math.min(15000, 1000 * Math.pow(2, state.retry++));
    reconnectTimer = setTimeout(function () {
      if (!state.socketWanted) return;
      // the session may have ended while we were away
      api("GET", "/me").then(function (r) {
        if (!state.socketWanted) return;
        if (r.ok) { if (r.data.csrf) session.csrf = r.data.csrf; connect(); }
        else if (r.status === 401) session.showLogin("Your session has ended. Please sign in again.");
        else scheduleReconnect();
      });
    }, delay);
  }

  function disconnect() {
    state.socketWanted = false;
    clearTimeout(reconnectTimer);
    if (state.socket) {
      var s = state.socket;
      state.socket = null;
      try { s.close(); } catch (e) { /* already closed */ }
    }
    setConn(false);
  }

  var queueTimer = null, detailTimer = null;
  function refreshQueueSoon() {
    clearTimeout(queueTimer);
    queueTimer = setTimeout(loadQueue, 150);
  }
  var newTimer = null;
  function checkNewSoon() {
    clearTimeout(newTimer);
    newTimer = setTimeout(checkNewHandoffs, 200);
  }
  function refreshDetailSoon() {
    clearTimeout(detailTimer);
    detailTimer = setTimeout(function () { loadDetail(false); }, 400);
  }

  function onEvent(ev) {
    if (!ev || typeof ev !== "object") return;
    if (ev.type === "queue") {
      refreshQueueSoon();
      // a transfer or a claim elsewhere: the open conversation's buttons follow at once
      if (state.openId !== null) refreshDetailSoon();
      checkNewSoon();
    } else if (ev.type === "presence") {
      state.viewers = ev.viewers && typeof ev.viewers === "object" ? ev.viewers : {};
      renderViewers();
      renderQueue();
    } else if (ev.type === "labels") {
      labelsChanged(ev.handoff_id, Array.isArray(ev.labels) ? ev.labels : []);
    } else if (ev.type === "typing") {
      if (state.openId !== null && String(ev.handoff_id) === String(state.openId)) showCustomerTyping();
    } else if (ev.type === "message") {
      if (state.openId !== null && String(ev.handoff_id) === String(state.openId) && state.detail) {
        if (ev.message && ev.message.sender === "customer") hideCustomerTyping();
        appendMessage(ev.message);
        refreshDetailSoon();  // intent, articles and frustration of the new message; the summary
      }
      refreshQueueSoon();     // last message in the queue row
    } else if (ev.type === "low_rating" && ev.rating) {
      showLowRating(ev.rating);
    } else if (ev.type === "handoff" && ev.handoff) {
      var known = state.queue.some(function (q) { return String(q.id) === String(ev.handoff.id); });
      updateHandoff(ev.handoff);
      if (!known && ev.handoff.status !== "resolved") refreshQueueSoon();
      if (String(ev.handoff.id) === String(state.openId)) refreshDetailSoon();
    }
  }

  // ---------------------------------------------------------------- start

  function start() {
    $("claim").addEventListener("click", onClaim);
    $("reply-send").addEventListener("click", onReply);
    $("reply-text").addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); onReply(); }
    });
    $("note-add").addEventListener("click", onNote);
    $("transfer").addEventListener("click", onTransfer);
    $("resolve").addEventListener("click", function () { onResolve(true); });
    $("resolve-quiet").addEventListener("click", function () { onResolve(false); });
    $("save-draft").addEventListener("click", onSaveDraft);
    $("saved-replies").addEventListener("change", onSavedReply);
    $("saved-add").addEventListener("click", onSavedAdd);
    var viewButtons = document.querySelectorAll("#views .view");
    for (var i = 0; i < viewButtons.length; i++) {
      viewButtons[i].addEventListener("click", function (e) { setView(e.currentTarget.getAttribute("data-view")); });
    }
    $("search-form").addEventListener("submit", function (e) { e.preventDefault(); onSearch(); });
    $("search").addEventListener("input", onSearch);
    $("label-filter").addEventListener("change", onSearch);
    $("queue-more").addEventListener("click", function () { state.limit = Math.min(200, state.limit + 50); loadQueue(); });
    $("label-form").addEventListener("submit", onLabelAdd);
    $("sound-toggle").addEventListener("click", onSoundToggle);
    $("notify-enable").addEventListener("click", onNotifyEnable);
    setInterval(tick, 1000);

    $("reply-text").addEventListener("input", onReplyTyping);
    $("cust-note-add").addEventListener("click", onCustomerNote);
    $("merge-form").addEventListener("submit", function (e) { e.preventDefault(); onMergeSearch(); });
    session.start();  // the login form, the log-out button, the flash; the app if signed in
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
