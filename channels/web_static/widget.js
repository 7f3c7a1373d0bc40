/* Brightcart support widget: add <script src="https://YOUR-HUB/widget.js" async></script>.
   Customer text is always inserted with textContent, never as HTML.
   Its own texts come from the hub's catalog (GET /widget/texts?lang=...) in the customer's
   language: data-lang on the script tag (or the settings file's lang), else the browser's
   language, then the conversation's (the hub sends it with its replies).
   Branding (README "Brand the widget"): data-title, data-greeting, data-color,
   data-accent-color, data-text-color, data-avatar, data-position, data-lang and
   data-launcher-label on the script tag, over the hub's settings file (GET /widget/settings).
   Every value is checked; a bad one is ignored with a console warning. Colours go through CSS
   custom properties, texts through textContent, URLs through setAttribute.
   Identity: data-customer-name, data-customer-email, data-attributes (a JSON object of strings)
   or window.SupportWidget.identify({name, email, attributes}); page_url is added.
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
  function warn(what) { if (window.console) console.warn("supportbot widget: " + what); }

  // -- branding: checked values only (the hub's file, then the script tag's data attributes) --
  var COLOR = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;
  function textCheck(limit) {
    return function (v) {
      if (!v.trim()) return "must not be empty";
      if (v.length > limit) return "must be at most " + limit + " characters";
      return /[\u0000-\u0008\u000b-\u001f]/.test(v) ? "must not contain control characters" : null;
    };
  }
  function colorCheck(v) { return COLOR.test(v) ? null : "must be a colour like #2457d6 or #25d"; }
  function avatarCheck(v) {
    if (v.length > 500) return "must be at most 500 characters";
    if (/[\s\\]/.test(v)) return "must be a URL without spaces or backslashes";
    if (v.charAt(0) === "/" && v.charAt(1) !== "/") return null;  // a path on the same origin
    return /^https?:\/\/[^\/?#]+/i.test(v) ? null : "must be an http(s) URL or a path starting with /";
  }
  var BRAND = {  // setting (file key; data-<key with - for _>) -> its check
    title: textCheck(60), greeting: textCheck(500), launcher_label: textCheck(40),
    color: colorCheck, accent_color: colorCheck, text_color: colorCheck, avatar: avatarCheck,
    position: function (v) { return v === "bottom-right" || v === "bottom-left" ? null : "must be bottom-right or bottom-left"; },
    lang: function (v) { return /^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$/.test(v) ? null : "must be a language tag such as hr or sr-Cyrl"; },
  };
  var brand = {};
  function takeBrand(values, where, base) {  // base: the origin a path avatar is on
    for (var k in BRAND) {
      var v = values[k];
      if (v === undefined || v === null || v === "") continue;
      var problem = typeof v !== "string" ? "must be a string" : BRAND[k](v);
      if (problem) { warn(where(k) + " " + problem + "; ignored"); continue; }
      brand[k] = k === "avatar" ? new URL(v, base).href : v.trim();
    }
  }
  var fromTag = {};
  for (var bk in BRAND) {
    var camel = bk.replace(/_([a-z])/g, function (m, c) { return c.toUpperCase(); });
    if (data[camel] !== undefined) fromTag[bk] = data[camel];
  }
  takeBrand(fromTag, function (k) { return "data-" + k.replace(/_/g, "-"); }, location.href);
  var lang = brand.lang || navigator.language || "en";  // a tag: fa-IR, sr-Cyrl, hr
  var texts = {  // English until the hub's catalog answers
    title: "Brightcart support", online: "online", connecting: "connecting\u2026",
    reconnecting: "reconnecting\u2026", placeholder: "Type your question\u2026", send: "Send",
    open: "Open chat", close: "Close chat", offline: "offline", status_queued: "waiting for a person (position {position})",
    typing: "{agent} is typing\u2026", greeting: "Hi! I'm the Brightcart assistant. Ask me about orders, delivery, returns, payments or your account.",
    dir: "ltr", lang: "en",
  };
  var statusKey = "connecting";  // the socket: connecting | offline, or online once ready
  var where = { state: "bot" };  // the conversation (from the hub): bot | queued | with_agent

  var css = document.createElement("style");
  css.textContent = [
    "#sb-launch,#sb-panel{--sb-primary:#2457d6;--sb-accent:#2457d6;--sb-on-primary:#fff}",
    "#sb-launch{position:fixed;right:20px;bottom:20px;min-width:56px;height:56px;border-radius:28px;border:0;background:var(--sb-primary);color:var(--sb-on-primary);cursor:pointer;display:flex;align-items:center;justify-content:center;gap:8px;padding:0 15px;box-sizing:border-box;font:600 15px/1 system-ui,sans-serif;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483000}",
    "#sb-panel{position:fixed;right:20px;bottom:88px;width:360px;max-width:calc(100vw - 40px);height:520px;max-height:calc(100vh - 120px);background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);display:none;flex-direction:column;font:14px/1.4 system-ui,sans-serif;z-index:2147483001;overflow:hidden}",
    "#sb-launch.sb-left,#sb-panel.sb-left{right:auto;left:20px}",
    "#sb-panel.open{display:flex}",
    "#sb-head{background:var(--sb-primary);color:var(--sb-on-primary);padding:10px 8px 10px 14px;font-weight:600;display:flex;align-items:center;gap:10px}",
    "#sb-avatar{width:36px;height:36px;border-radius:50%;object-fit:cover;flex:none;background:rgba(255,255,255,.2)}",
    "#sb-avatar[hidden],#sb-launch-label:empty{display:none}",
    "#sb-heading{flex:1;min-width:0}",
    "#sb-title{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}",
    "#sb-close{flex:none;width:40px;height:40px;border:0;border-radius:50%;background:transparent;color:inherit;font:400 26px/1 system-ui,sans-serif;cursor:pointer}",
    "#sb-close:hover,#sb-close:focus-visible{background:rgba(255,255,255,.18)}",
    "#sb-status{font-weight:400;font-size:12px;opacity:.85}",
    ".sb-name{display:block;font-size:11px;font-weight:600;color:#2b6b3f;margin-bottom:2px}",
    "#sb-typing{font-size:12px;color:#5b6478;padding:2px 12px;min-height:16px;background:#f5f7fb}",
    ".sb-buttons button:disabled{opacity:.5;cursor:default}",
    "#sb-log{flex:1;overflow-y:auto;padding:12px;background:#f5f7fb;display:flex;flex-direction:column;align-items:flex-start}",
    ".sb-msg{margin:6px 0;padding:8px 11px;border-radius:10px;max-width:85%;white-space:pre-wrap;word-wrap:break-word}",
    ".sb-customer{background:var(--sb-primary);color:var(--sb-on-primary);align-self:flex-end}",  /* the panel's end: right, or left in Persian */
    ".sb-bot,.sb-system{background:#fff;border:1px solid #e1e5ee}",
    ".sb-agent{background:#e7f6ec;border:1px solid #b9e3c6}",
    ".sb-error{background:#fdecec;border:1px solid #f3b6b6;color:#8a1c1c}",
    ".sb-buttons{display:flex;flex-wrap:wrap;gap:6px;margin:4px 0 8px;align-self:stretch}",
    ".sb-buttons button{border:1px solid var(--sb-accent);background:#fff;color:var(--sb-accent);border-radius:14px;padding:5px 10px;cursor:pointer}",
    "#sb-form{display:flex;border-top:1px solid #e1e5ee}",
    "#sb-input{flex:1;border:0;padding:12px;font:inherit;outline:none}",
    "#sb-send{border:0;background:#fff;color:var(--sb-accent);font-weight:600;padding:0 14px;cursor:pointer}",
    // a phone: the open panel is the whole screen, its input kept above the keyboard
    "@media (max-width:480px){#sb-panel,#sb-panel.sb-left{left:0;right:0;top:var(--sb-viewport-top,0);bottom:auto;width:100vw;max-width:none;height:100vh;height:var(--sb-viewport,100dvh);max-height:none;border-radius:0;box-shadow:none}#sb-input{font-size:16px}}",
  ].join("\n");
  document.head.appendChild(css);

  var launch = el("button", { id: "sb-launch", type: "button", title: texts.open, "aria-label": texts.open, "aria-expanded": "false", "aria-controls": "sb-panel" });
  launch.appendChild(bubbleIcon());
  var launchLabel = el("span", { id: "sb-launch-label" });
  launch.appendChild(launchLabel);
  var panel = el("div", { id: "sb-panel", role: "dialog", "aria-label": texts.title });
  var head = el("div", { id: "sb-head" });
  var avatar = el("img", { id: "sb-avatar", alt: "", hidden: "" });
  avatar.onerror = function () { avatar.hidden = true; };
  var heading = el("div", { id: "sb-heading" });
  var title = el("div", { id: "sb-title" }, texts.title);
  var status = el("div", { id: "sb-status" }, texts.connecting);
  var close = el("button", { id: "sb-close", type: "button", title: texts.close, "aria-label": texts.close }, "\u00d7");
  heading.appendChild(title); heading.appendChild(status);
  head.appendChild(avatar); head.appendChild(heading); head.appendChild(close);
  var log = el("div", { id: "sb-log", "aria-live": "polite" });
  var typing = el("div", { id: "sb-typing", "aria-live": "polite" });
  var form = el("form", { id: "sb-form" });
  var input = el("input", { id: "sb-input", placeholder: texts.placeholder, maxlength: "4000", autocomplete: "off" });
  var send = el("button", { id: "sb-send", type: "submit" }, texts.send);
  form.appendChild(input); form.appendChild(send);
  panel.appendChild(head); panel.appendChild(log); panel.appendChild(typing); panel.appendChild(form);
  document.body.appendChild(launch); document.body.appendChild(panel);
  launch.style.visibility = "hidden";  // until the shop's branding is applied: no flash of ours
  function isOpen() { return panel.classList.contains("open"); }
  function setOpen(open) {
    panel.classList.toggle("open", open);
    launch.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) input.focus(); else if (document.activeElement && panel.contains(document.activeElement)) launch.focus();
  }
  launch.onclick = function () { setOpen(!isOpen()); };
  close.onclick = function () { setOpen(false); };
  document.addEventListener("keydown", function (e) { if (e.key === "Escape" && isOpen()) setOpen(false); });
  if (script && script.dataset.open === "true") setOpen(true);
  // On a phone the keyboard shrinks the visual viewport, not 100dvh: follow it.
  if (window.visualViewport) {
    var fit = function () {
      panel.style.setProperty("--sb-viewport", window.visualViewport.height + "px");
      panel.style.setProperty("--sb-viewport-top", window.visualViewport.offsetTop + "px");
    };
    window.visualViewport.addEventListener("resize", fit);
    window.visualViewport.addEventListener("scroll", fit);
    fit();
  }

  // The shop's branding on the page: CSS custom properties, textContent and setAttribute only.
  function applyBrand() {
    var vars = { color: "--sb-primary", accent_color: "--sb-accent", text_color: "--sb-on-primary" };
    for (var k in vars) {
      [launch, panel].forEach(function (node) {
        if (brand[k]) node.style.setProperty(vars[k], brand[k]); else node.style.removeProperty(vars[k]);
      });
    }
    if (!brand.accent_color && brand.color) [launch, panel].forEach(function (n) { n.style.setProperty("--sb-accent", brand.color); });
    var left = brand.position === "bottom-left";
    launch.classList.toggle("sb-left", left); panel.classList.toggle("sb-left", left);
    if (brand.avatar) { avatar.setAttribute("src", brand.avatar); avatar.hidden = false; }
    else { avatar.removeAttribute("src"); avatar.hidden = true; }
    launchLabel.textContent = brand.launcher_label || "";
    applyTexts({});
  }
  function reveal() { launch.style.visibility = ""; }
  function loadBrand() {  // the hub's settings file, with the script tag's attributes over it
    return fetch(origin + "/widget/settings")
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body) return;
        (body.errors || []).forEach(function (e) { warn("the hub's widget settings: " + e); });
        var tag = brand; brand = {};
        takeBrand(body.settings || {}, function (k) { return "widget settings " + k; }, origin + "/");
        for (var k in tag) brand[k] = tag[k];
      })
      .catch(function () {})
      .then(applyBrand).then(reveal);
  }

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
    if (brand.title) texts.title = brand.title;
    if (brand.greeting) texts.greeting = brand.greeting;
    panel.setAttribute("dir", texts.dir === "rtl" ? "rtl" : "ltr");
    panel.setAttribute("lang", texts.lang);
    panel.setAttribute("aria-label", texts.title);
    title.textContent = texts.title;
    setStatus(statusKey);
    input.placeholder = texts.placeholder;
    input.setAttribute("dir", texts.dir === "rtl" ? "rtl" : "auto");
    send.textContent = texts.send;
    var opener = brand.launcher_label || texts.open;
    launch.title = opener; launch.setAttribute("aria-label", opener);
    close.title = texts.close; close.setAttribute("aria-label", texts.close);
  }
  applyBrand();  // the data attributes at once; the hub's file when it answers
  setTimeout(reveal, 3000);  // a hub slow to answer still gets its launcher shown

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

  // -- who the customer is, as the page says: sent in an identify frame (the hub checks it) ---
  var who = { name: null, email: null, attributes: {} };
  var KEY = /^[a-z0-9_]{1,40}$/, EMAIL = /^[^@\s<>()\[\],;:"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
  function identify(d, where) {
    d = d || {};
    if (typeof d.name === "string" && d.name.trim()) {
      if (d.name.length <= 255) who.name = d.name.trim(); else warn(where + " name is longer than 255 characters; ignored");
    }
    if (typeof d.email === "string" && d.email.trim()) {
      if (EMAIL.test(d.email.trim()) && d.email.length <= 254) who.email = d.email.trim();
      else warn(where + " email " + JSON.stringify(d.email) + " does not look like an e-mail address; ignored");
    }
    var attrs = d.attributes;
    if (attrs !== undefined && (attrs === null || typeof attrs !== "object" || Array.isArray(attrs))) {
      warn(where + " attributes must be an object of strings; ignored"); attrs = {};
    }
    for (var k in attrs || {}) {
      var v = attrs[k];
      if (!KEY.test(k)) warn(where + " attribute key " + JSON.stringify(k) + " must be 1-40 lowercase letters, digits or _; ignored");
      else if (typeof v !== "string" || v.length > 200) warn(where + " attribute " + k + " must be a string of at most 200 characters; ignored");
      else if (!(k in who.attributes) && Object.keys(who.attributes).length >= 19) warn(where + " at most 19 attributes (and page_url); " + k + " ignored");
      else who.attributes[k] = v;
    }
    sentPage = null;  // told again on the next chance
    if (socket && ready) tellWho();
  }
  function pageUrl() { return location.href.split("#")[0].slice(0, 200); }  // a #fragment may hold a token
  var sentPage = null;
  function tellWho() {
    var attributes = {};
    for (var k in who.attributes) attributes[k] = who.attributes[k];
    if (!("page_url" in attributes)) attributes.page_url = pageUrl();
    sentPage = pageUrl();
    socket.send(JSON.stringify({ type: "identify", id: "identify", name: who.name || undefined, email: who.email || undefined, attributes: attributes }));
  }
  var tagAttributes;
  if (data.attributes) {
    try { tagAttributes = JSON.parse(data.attributes); } catch (e) { warn("data-attributes is not JSON; ignored"); }
  }
  identify({ name: data.customerName || shop.name || data.name, email: data.customerEmail || shop.email || data.email, attributes: tagAttributes }, "data-customer-*:");

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
        tellWho();
        while (queue.length) socket.send(queue.shift());
      } else if (frame.type === "messages") {
        if (frame.language) useLanguage(frame.language);  // the conversation's language
        if (frame.messages.length) retireButtons();
        frame.messages.forEach(showMessage);
      }
      else if (frame.type === "typing") agentTyping(frame.agent);
      else if (frame.type === "error" && frame.status === 401) { creds = null; localStorage.removeItem(key); }
      else if (frame.type === "error" && frame.reply_to === "identify") warn("the hub refused the customer's identity: " + frame.error);
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
    if (socket && ready) { if (sentPage !== pageUrl()) tellWho(); socket.send(frame); } else queue.push(frame);
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
  // The shop's page may say who the customer is, and open or close the chat.
  window.SupportWidget = {
    identify: function (d) { identify(d, "SupportWidget.identify:"); },
    open: function () { setOpen(true); },
    close: function () { setOpen(false); },
  };
  try { window.dispatchEvent(new Event("supportwidget:ready")); } catch (e) { /* very old browser */ }

  loadBrand().then(function () {
    lang = brand.lang || lang;
    return useLanguage(lang);
  }).then(function () {
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
