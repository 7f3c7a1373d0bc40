/* supportbot console pages (writers, reports): what every page behind the agent login shares.
   Plain JavaScript, no build step, no external resources. Exposes window.SupportbotCommon:
   - DOM helpers: $, el, svg (SVG elements), clear, str. Text is only ever set with textContent.
   - flash(text, kind) / hideFlash(): the message strip (#flash), errors stay longer.
   - session(options): the login view, the fetch wrapper and the failure display.
     options.onApp(agent) runs after a sign-in (or a live session found at start);
     options.onLogin() runs when the login view is shown (the page forgets what it showed).
     The page needs #login-view (#login-form, #login-username, #login-password, #login-submit,
     #login-error), #app-view, #whoami (#me-name, #me-role, #logout) and #flash. */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";

  function $(id) { return document.getElementById(id); }

  function setAttributes(node, attrs) {
    if (!attrs) return node;
    for (var k in attrs) {
      if (Object.prototype.hasOwnProperty.call(attrs, k) && attrs[k] !== undefined && attrs[k] !== null) {
        node.setAttribute(k, String(attrs[k]));
      }
    }
    return node;
  }

  // An HTML element with attributes and text (as a text node: never parsed as HTML).
  function el(tag, attrs, text) {
    var node = setAttributes(document.createElement(tag), attrs);
    if (text !== undefined && text !== null && text !== "") node.textContent = String(text);
    return node;
  }

  // The same for SVG (createElementNS).
  function svg(tag, attrs, text) {
    var node = setAttributes(document.createElementNS(SVG_NS, tag), attrs);
    if (text !== undefined && text !== null && text !== "") node.textContent = String(text);
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function str(v) {
    if (v === undefined || v === null) return "";
    return typeof v === "object" ? JSON.stringify(v) : String(v);
  }

  // ---------------------------------------------------------------- flash

  var flashTimer = null;
  function flash(text, kind) {
    var box = $("flash");
    box.textContent = String(text);
    box.className = kind || "info";
    box.hidden = false;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(function () { box.hidden = true; }, kind === "error" ? 10000 : 5000);
  }
  function hideFlash() { clearTimeout(flashTimer); $("flash").hidden = true; }

  // ---------------------------------------------------------------- session

  var LOGIN = "/api/agent/login";

  function session(options) {
    options = options || {};
    var self = { me: null, csrf: null };

    // One API call: the session cookie goes along, changes carry X-CSRF-Token. Always resolves
    // to {ok, status, data}; a failure's data.error is a sentence for the user (the API's JSON
    // error, FastAPI's detail, or what went wrong on the way). A 401 after sign-in shows the
    // login view again.
    self.api = function (method, path, body) {
      var headers = { Accept: "application/json" };
      var init = { method: method, headers: headers, credentials: "same-origin", cache: "no-store" };
      if (method !== "GET") {
        if (self.csrf) headers["X-CSRF-Token"] = self.csrf;
        if (body !== undefined) {
          headers["Content-Type"] = "application/json";
          init.body = JSON.stringify(body);
        }
      }
      return fetch(path, init).then(function (response) {
        return response.text().then(function (raw) {
          var data = {};
          try { data = raw ? JSON.parse(raw) : {}; } catch (e) {
            data = { error: "The server answered " + response.status + " " + response.statusText + "." };
          }
          if (!response.ok && !(data && data.error)) {
            var detail = data && data.detail;
            if (Array.isArray(detail)) detail = detail.map(function (d) { return str(d && d.msg || d); }).join("; ");
            data = { error: detail ? str(detail) : "HTTP " + response.status };
          }
          if (response.status === 401 && self.me && path !== LOGIN) {
            self.showLogin("Your session has ended. Please sign in again.");
          }
          return { ok: response.ok, status: response.status, data: data || {} };
        });
      }, function () {
        return { ok: false, status: 0, data: { error: "The server cannot be reached." } };
      });
    };

    // True (and the error shown) when a call failed; a 401 already shows the login view.
    self.failed = function (result, what) {
      if (result.ok) return false;
      if (result.status !== 401) flash((what ? what + ": " : "") + str(result.data.error), "error");
      return true;
    };

    self.showLogin = function (message) {
      self.me = null;
      self.csrf = null;
      if (options.onLogin) options.onLogin();
      $("app-view").hidden = true;
      $("whoami").hidden = true;
      $("login-view").hidden = false;
      $("login-password").value = "";
      var err = $("login-error");
      if (message) { err.textContent = message; err.hidden = false; } else err.hidden = true;
      $("login-username").focus();
    };

    function showApp(agent, csrf) {
      self.me = agent;
      self.csrf = csrf;
      $("login-view").hidden = true;
      $("login-error").hidden = true;
      $("app-view").hidden = false;
      $("whoami").hidden = false;
      $("me-name").textContent = str(agent.display_name || agent.username);
      $("me-role").textContent = str(agent.role);
      if (options.onApp) options.onApp(agent);
    }

    function onLogin(event) {
      event.preventDefault();
      var username = $("login-username").value.trim(), password = $("login-password").value;
      var err = $("login-error");
      err.hidden = true;
      if (!username || !password) { err.textContent = "Enter your username and password."; err.hidden = false; return; }
      $("login-submit").disabled = true;
      self.api("POST", LOGIN, { username: username, password: password }).then(function (r) {
        $("login-submit").disabled = false;
        $("login-password").value = "";
        if (!r.ok || !r.data.agent) {
          err.textContent = str(r.data.error) || "Sign-in failed.";
          err.hidden = false;
          $("login-password").focus();
          return;
        }
        showApp(r.data.agent, r.data.csrf);
      });
    }

    function onLogout() {
      self.api("POST", "/api/agent/logout", {}).then(function () { hideFlash(); self.showLogin(); });
    }

    // Wire the login form, the log-out button and the flash; show the app when the browser
    // still has a live session, the login view otherwise.
    self.start = function () {
      $("login-form").addEventListener("submit", onLogin);
      $("logout").addEventListener("click", onLogout);
      $("flash").addEventListener("click", hideFlash);
      return self.api("GET", "/api/agent/me").then(function (r) {
        if (r.ok && r.data.agent) showApp(r.data.agent, r.data.csrf);
        else self.showLogin();
      });
    };

    return self;
  }

  window.SupportbotCommon = {
    $: $, el: el, svg: svg, clear: clear, str: str,
    flash: flash, hideFlash: hideFlash, session: session,
  };
})();
