/* Brightcart support widget: add <script src="https://YOUR-HUB/widget.js" async></script>.
   Customer text is always inserted with textContent, never as HTML.
   Its own texts come from the hub's catalog (GET /widget/texts?lang=...) in the customer's
   language: data-lang on the script tag, else the browser's language, then the conversation's
   (the hub sends it with its replies). data-title and data-greeting override those two texts.
   Persian is shown right to left; every bubble is dir="auto" so mixed text reads right. */
(function () {
  "use strict";
  if (window.__supportbotWidget) return;
  window.__supportbotWidget = true;
  var script = document.currentScript;
  var origin = new URL(script ? script.src : "/widget.js", location.href).origin;
  // The hub issues the session and its secret token (POST /api/chat/sessions); the token goes in
  // an Authorization header or the socket's first frame, never in a URL.
  var key = "supportbot-chat";
  localStorage.removeItem("supportbot-session");  // the old client-chosen id: no credential
  // A shop whose customer is logged in vouches for them: user_id + user_hash (HMAC-SHA256 of the
  // user id with the shop's identity secret, computed on the shop's server).
  var shop = window.supportbotSettings || {};
  var data = (script && script.dataset) || {};
  var identity = {
    user_id: shop.user_id || data.userId || undefined,
    user_hash: shop.user_hash || data.userHash || undefined,
    email: shop.email || data.email || undefined,
    name: shop.name || data.name || undefined,
  };
  var creds = stored();
  function stored() {
    try {
      var c = JSON.parse(localStorage.getItem(key) || "null");
      return c && c.session && c.token && (c.user || null) === (identity.user_id || null) ? c : null;
    } catch (e) { return null; }
  }
  function openSession() {
    return fetch(origin + "/api/chat/sessions", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(identity),
    }).then(function (r) { if (!r.ok) throw new Error("session " + r.status); return r.json(); })
      .then(function (d) {
        creds = { session: d.session, token: d.token, user: identity.user_id || null };
        localStorage.setItem(key, JSON.stringify(creds));
        return creds;
      });
  }
  var lang = data.lang || navigator.language || "en";  // a tag: fa-IR, sr-Cyrl, hr
  var texts = {  // English until the hub's catalog answers
    title: "Brightcart support", online: "online", connecting: "connecting\u2026",
    reconnecting: "reconnecting\u2026", placeholder: "Type your question\u2026", send: "Send",
    open: "Open chat", offline: "offline", status_queued: "waiting for a person (position {position})",
    typing: "{agent} is typing\u2026", greeting: "Hi! I'm the Brightcart assistant. Ask me about orders, delivery, returns, payments or your account.",
    dir: "ltr", lang: "en",
  };
  var statusKey = "connecting";  // the socket: connecting | offline, or online once ready
  var where = { state: "bot" };  // the conversation (from the hub): bot | queued | with_agent

  var css = document.createElement("style");
  css.textContent = [
    "#sb-launch{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;background:#2457d6;color:#fff;cursor:pointer;display:flex;align-items:center;justify-content:center;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483000}",
    "#sb-panel{position:fixed;right:20px;bottom:88px;width:360px;max-width:calc(100vw - 40px);height:520px;max-height:calc(100vh - 120px);background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);display:none;flex-direction:column;font:14px/1.4 system-ui,sans-serif;z-index:2147483000;overflow:hidden}",
    "#sb-panel.open{display:flex}",
    "#sb-head{background:#2457d6;color:#fff;padding:12px 14px;font-weight:600}",
    "#sb-status{font-weight:400;font-size:12px;opacity:.85}",
    ".sb-name{display:block;font-size:11px;font-weight:600;color:#2b6b3f;margin-bottom:2px}",
    "#sb-typing{font-size:12px;color:#5b6478;padding:2px 12px;min-height:16px;background:#f5f7fb}",
    ".sb-buttons button:disabled{opacity:.5;cursor:default}",
    "#sb-log{flex:1;overflow-y:auto;padding:12px;background:#f5f7fb;display:flex;flex-direction:column;align-items:flex-start}",
    ".sb-msg{margin:6px 0;padding:8px 11px;border-radius:10px;max-width:85%;white-space:pre-wrap;word-wrap:break-word}",
    ".sb-customer{background:#2457d6;color:#fff;align-self:flex-end}",  /* the panel's end: right, or left in Persian */
    ".sb-bot,.sb-system{background:#fff;border:1px solid #e1e5ee}",
    ".sb-agent{background:#e7f6ec;border:1px solid #b9e3c6}",
    ".sb-error{background:#fdecec;border:1px solid #f3b6b6;color:#8a1c1c}",
    ".sb-buttons{display:flex;flex-wrap:wrap;gap:6px;margin:4px 0 8px;align-self:stretch}",
    ".sb-buttons button{border:1px solid #2457d6;background:#fff;color:#2457d6;border-radius:14px;padding:5px 10px;cursor:pointer}",
    "#sb-form{display:flex;border-top:1px solid #e1e5ee}",
    "#sb-input{flex:1;border:0;padding:12px;font:inherit;outline:none}",
    "#sb-send{border:0;background:#fff;color:#2457d6;font-weight:600;padding:0 14px;cursor:pointer}",
  ].join("\n");
  document.head.appendChild(css);

  var launch = el("button", { id: "sb-launch", title: texts.open, "aria-label": texts.open });
  launch.appendChild(bubbleIcon());
  var panel = el("div", { id: "sb-panel", role: "dialog", "aria-label": texts.title });
  var head = el("div", { id: "sb-head" });
  var title = el("div", { id: "sb-title" }, texts.title);
  var status = el("div", { id: "sb-status" }, texts.connecting);
  head.appendChild(title); head.appendChild(status);
  var log = el("div", { id: "sb-log", "aria-live": "polite" });
  var typing = el("div", { id: "sb-typing", "aria-live": "polite" });
  var form = el("form", { id: "sb-form" });
  var input = el("input", { id: "sb-input", placeholder: texts.placeholder, maxlength: "4000", autocomplete: "off" });
  var send = el("button", { id: "sb-send", type: "submit" }, texts.send);
  form.appendChild(input); form.appendChild(send);
  panel.appendChild(head); panel.appendChild(log); panel.appendChild(typing); panel.appendChild(form);
  document.body.appendChild(launch); document.body.appendChild(panel);
  launch.onclick = function () { panel.classList.toggle("open"); if (panel.classList.contains("open")) input.focus(); };
  if (script && script.dataset.open === "true") panel.classList.add("open");

  // The header tells the truth: the socket's state, else where the conversation stands.
  function setStatus(key) { statusKey = key; renderStatus(); }
  function setWhere(s) { if (s && s.state) { where = s; renderStatus(); } }
  function renderStatus() {
    var text = texts[statusKey];
    if (statusKey === "online" && where.state === "queued")
      text = texts.status_queued.replace("{position}", String(where.position || 1));
    else if (statusKey === "online" && where.state === "with_agent" && where.agent) text = where.agent;
    status.textContent = text;
    status.setAttribute("data-state", statusKey === "online" ? where.state : statusKey);
  }
  var typingTimer = null;
  function agentTyping(name) {
    typing.textContent = texts.typing.replace("{agent}", name || "");
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { typing.textContent = ""; }, 4000);
  }

  // The widget's own texts and direction in a language, from the hub's catalog.
  var shownLanguage = null;
  function useLanguage(tag) {
    if (!tag || tag === shownLanguage) return Promise.resolve();
    shownLanguage = tag;
    return fetch(origin + "/widget/texts?lang=" + encodeURIComponent(tag))
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (t) { if (t && shownLanguage === tag) applyTexts(t); })
      .catch(function () {});
  }
  function applyTexts(t) {
    for (var k in texts) if (typeof t[k] === "string" && t[k]) texts[k] = t[k];
    if (data.title) texts.title = data.title;
    if (data.greeting) texts.greeting = data.greeting;
    panel.setAttribute("dir", texts.dir === "rtl" ? "rtl" : "ltr");
    panel.setAttribute("lang", texts.lang);
    panel.setAttribute("aria-label", texts.title);
    title.textContent = texts.title;
    setStatus(statusKey);
    input.placeholder = texts.placeholder;
    input.setAttribute("dir", texts.dir === "rtl" ? "rtl" : "auto");
    send.textContent = texts.send;
    launch.title = texts.open; launch.setAttribute("aria-label", texts.open);
  }
  if (data.title || data.greeting) applyTexts({});

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text) node.textContent = text;
    return node;
  }

  function bubbleIcon() {  // a speech bubble drawn as SVG: no emoji font needed
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("width", "26"); svg.setAttribute("height", "26");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
    svg.appendChild(path);
    return svg;
  }

  // Minimal, safe rendering: **bold** and line breaks, built from text nodes only.
  function render(node, text) {
    String(text || "").split(/(\*\*[^*]+\*\*)/).forEach(function (part) {
      if (/^\*\*[^*]+\*\*$/.test(part)) node.appendChild(el("strong", {}, part.slice(2, -2)));
      else if (part) node.appendChild(document.createTextNode(part));
    });
  }

  // Only the newest message's buttons can be clicked; older ones stay visible but disabled.
  function retireButtons() {
    log.querySelectorAll(".sb-buttons button").forEach(function (b) { b.disabled = true; });
  }
  function show(sender, text, buttons, agent) {
    if (text) {
      var bubble = el("div", { class: "sb-msg sb-" + sender, "data-sender": sender, dir: "auto" });
      if (sender === "agent" && agent) bubble.appendChild(el("span", { class: "sb-name", dir: "auto" }, agent));
      render(bubble, text);
      log.appendChild(bubble);
      if (sender === "agent") typing.textContent = "";
    }
    if (buttons && buttons.length) {
      var row = el("div", { class: "sb-buttons" });
      buttons.forEach(function (b) {
        var btn = el("button", { type: "button", dir: "auto" }, b.title);
        btn.onclick = function () { row.remove(); submit(b.payload, b.title); };
        row.appendChild(btn);
      });
      log.appendChild(row);
    }
    log.scrollTop = log.scrollHeight;
  }
  function showMessage(m) {
    var custom = m.custom || {};
    show(m.sender || "bot", m.text, m.buttons, m.agent || custom.agent);
    if (custom.status) setWhere(custom.status);
  }

  var socket, queue = [], counter = 0, ready = false;
  function connect() {
    ready = false;
    socket = new WebSocket(origin.replace(/^http/, "ws") + "/ws");
    socket.onopen = function () { socket.send(JSON.stringify({ type: "auth", token: creds.token, language: lang })); };
    socket.onclose = function () { ready = false; setStatus("offline"); setTimeout(reconnect, 2000); };
    socket.onmessage = function (event) {
      var frame; try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "ready") {
        ready = true; setStatus("online");
        while (queue.length) socket.send(queue.shift());
      } else if (frame.type === "messages") {
        if (frame.language) useLanguage(frame.language);  // the conversation's language
        if (frame.messages.length) retireButtons();
        frame.messages.forEach(showMessage);
      }
      else if (frame.type === "typing") agentTyping(frame.agent);
      else if (frame.type === "error" && frame.status === 401) { creds = null; localStorage.removeItem(key); }
      else if (frame.type === "error") show("error", frame.error);
    };
  }
  function reconnect() {  // a lapsed token: a new session (the old one cannot be read any more)
    (creds ? Promise.resolve(creds) : openSession()).then(connect, function () { setTimeout(reconnect, 5000); });
  }

  function submit(payload, shown) {
    retireButtons();
    show("customer", shown || payload);
    var frame = JSON.stringify({ type: "message", text: payload, id: creds ? creds.session + "-" + Date.now() + "-" + (counter++) : undefined, language: lang });
    if (socket && ready) socket.send(frame); else queue.push(frame);
  }

  // The customer is typing: told to the hub at most every 3 s (agents may see it).
  var lastTyping = 0;
  input.addEventListener("input", function () {
    var now = Date.now();
    if (!input.value.trim() || now - lastTyping < 3000 || !socket || !ready) return;
    lastTyping = now;
    socket.send(JSON.stringify({ type: "typing" }));
  });

  form.onsubmit = function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    submit(text);
  };

  function greet() { show("bot", texts.greeting); }
  function restore(c) {
    return fetch(origin + "/api/chat/" + encodeURIComponent(c.session) + "?limit=100", {
      headers: { authorization: "Bearer " + c.token },
    }).then(function (r) {
      if (r.status === 401) { creds = null; localStorage.removeItem(key); return openSession().then(function () { return null; }); }
      return r.ok ? r.json() : null;
    });
  }
  useLanguage(lang).then(function () {
    return creds ? restore(creds) : openSession().then(function () { return null; });
  }).then(function (history) {
    if (history && history.language) useLanguage(history.language);
    if (history && history.status) setWhere(history.status);
    if (history && history.messages.length) {
      // buttons survive a reload: those of the newest message (older ones were answered)
      var last = history.messages.length - 1;
      history.messages.forEach(function (m, i) { show(m.sender, m.text, i === last ? m.buttons || [] : [], m.agent); });
    } else greet();
  }).catch(function () { greet(); }).then(reconnect);
})();
