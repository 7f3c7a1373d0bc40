/* supportbot reports page: a date range and filters, headline tiles, charts drawn as inline SVG
   (no library, no network), tables and their CSV / JSON downloads. Plain JavaScript, no build
   step. Everything the API returns is inserted with textContent / createElementNS only.
   The API: GET /api/reports/summary and /api/reports/{table}, with from, to (YYYY-MM-DD, UTC
   days, inclusive), channel, language, agent, reason. */
(function () {
  "use strict";

  var C = window.SupportbotCommon;
  var $ = C.$, el = C.el, svg = C.svg, clear = C.clear, str = C.str, flash = C.flash;
  var session = C.session({ onApp: showApp, onLogin: forget });
  var api = session.api;

  var ROLES = ["supervisor", "admin"];
  var FILTERS = ["channel", "language", "agent", "reason"];
  var MAX_DAYS = 366;
  var DAY = 86400000;
  var REASONS = {
    requested: "Asked for a person",
    frustration: "Frustration",
    unanswered: "Bot could not answer",
    policy: "Article says hand off",
    bot_error: "Bot error",
  };
  var COLORS = {
    conversations: "#2457d6", messages: "#0e9384",
    answered: "#1f8a4c", clarified: "#e3a008", unknown: "#d92d20",
    bar: "#2457d6", low: "#d92d20", mid: "#e3a008", high: "#1f8a4c",
  };
  // The tables below the charts, in order (daily and ratings are the charts' own data).
  var TABLES = [
    { name: "agents", title: "Agents", empty: "No handoffs handled in this range.",
      hint: "Queue wait: queued → claimed. First response: queued → the agent's first message. Resolution: queued → resolved." },
    { name: "channels", title: "Channels", empty: "No conversations in this range." },
    { name: "languages", title: "Languages", empty: "No conversations in this range." },
    { name: "reasons", title: "Handoff reasons", empty: "No handoffs in this range." },
    { name: "articles", title: "Top articles", empty: "The bot answered from no article in this range.",
      hint: "Answers given from each article, and the customers' “did this answer your question?”." },
    { name: "gaps", title: "Top gap clusters", empty: "No open gap clusters.",
      hint: "Questions the bot could not answer, grouped by meaning (the writers' page)." },
    { name: "repeats", title: "Repeat contacts", empty: "No customer came back about the same topic within 7 days.",
      hint: "Customers who came back within 7 days about the same topic." },
    { name: "comments", title: "Latest low-score comments", empty: "No comments in this range.",
      hint: "What customers wrote after a score of 1 or 2." },
    { name: "daily", title: "Per day", empty: "No conversations in this range.", collapsed: true },
  ];
  var LOADED = ["daily", "ratings"].concat(TABLES.map(function (t) { return t.name; }).filter(function (n) { return n !== "daily"; }));
  var LABELS = {
    date: "Day", conversations: "Conversations", customer_messages: "Customer messages",
    answered: "Answered", clarified: "Clarified", unknown: "Unknown", handoffs: "Handoffs",
    contained: "Contained", reason: "Reason", share: "Share", csat: "CSAT", ratings: "Ratings",
    agent: "Agent", display_name: "Name", handled: "Handled",
    queue_wait_median: "Queue wait (median)", queue_wait_p90: "Queue wait (p90)",
    first_response_median: "First response (median)", first_response_p90: "First response (p90)",
    resolution_median: "Resolution (median)", resolution_p90: "Resolution (p90)",
    channel: "Channel", containment: "Containment", language: "Language", score: "Score", count: "Count",
    created_at: "When", comment: "Comment", conversation_id: "Conversation",
    article_id: "Article", answers: "Answers", yes: "Yes", no: "No",
    cluster_id: "Cluster", label: "Question", status: "Status", last_seen: "Last asked",
    customer_id: "Customer", topic: "Topic", first_conversation_id: "First conversation",
    repeat_conversation_id: "Came back in", days_between: "Days between",
  };
  var SHARES = ["share", "csat", "containment", "rate"];

  var state = {
    filters: { from: "", to: "", channel: "", language: "", agent: "", reason: "" },
    seq: 0,
    optionsFor: "",  // the range whose channels and languages the selects offer
    options: { channel: {}, language: {}, agent: {} },
  };

  // ---------------------------------------------------------------- formatting

  var numberFormat = new Intl.NumberFormat();
  function count(v) { var n = Number(v); return v === null || v === undefined || isNaN(n) ? "—" : numberFormat.format(n); }

  // 0.5 -> "50%", 1/3 -> "33.3%", null -> "—"
  function pct(v) {
    if (v === null || v === undefined || isNaN(Number(v))) return "—";
    return String(Math.round(Number(v) * 1000) / 10) + "%";
  }

  // seconds -> "45 s", "4 min 10 s", "2 h 5 min", "3 d 4 h"; null -> "—"
  function duration(v) {
    if (v === null || v === undefined || isNaN(Number(v))) return "—";
    var s = Math.round(Number(v));
    if (s < 60) return s + " s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + " min" + (s % 60 ? " " + (s % 60) + " s" : "");
    var h = Math.floor(m / 60);
    if (h < 24) return h + " h" + (m % 60 ? " " + (m % 60) + " min" : "");
    return Math.floor(h / 24) + " d" + (h % 24 ? " " + (h % 24) + " h" : "");
  }

  function dateTime(value) {
    var d = value ? new Date(value) : null;
    return d && !isNaN(d.getTime())
      ? d.toLocaleString([], { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" })
      : str(value);
  }

  function utcDay(iso) { return new Date(iso + "T00:00:00Z"); }
  function isoDay(date) { return date.toISOString().slice(0, 10); }
  function shortDay(iso) { return utcDay(iso).toLocaleDateString([], { month: "short", day: "numeric", timeZone: "UTC" }); }
  function longDay(iso) {
    return utcDay(iso).toLocaleDateString([], { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" });
  }
  function daysBetween(from, to) { return Math.round((utcDay(to) - utcDay(from)) / DAY) + 1; }
  function plural(n, one, many) { return count(n) + " " + (Number(n) === 1 ? one : many); }
  function reasonLabel(r) { return REASONS[r] || str(r); }

  function cell(column, value) {
    if (value === null || value === undefined || value === "") return "—";
    if (/_(median|p90)$/.test(column)) return duration(value);
    if (SHARES.indexOf(column) >= 0) return pct(value);
    if (column === "created_at" || column === "last_seen") return dateTime(value);
    if (column === "date") return longDay(value);
    if (column === "reason") return reasonLabel(value);
    if (typeof value === "number") return count(value);
    return str(value);
  }

  // ---------------------------------------------------------------- filters and the URL

  function today() { return isoDay(new Date()); }
  function daysBefore(iso, n) { return isoDay(new Date(utcDay(iso).getTime() - n * DAY)); }

  function readUrl() {
    var params = new URLSearchParams(location.search);
    var f = state.filters;
    Object.keys(f).forEach(function (k) { f[k] = params.get(k) || ""; });
    if (!/^\d{4}-\d{2}-\d{2}$/.test(f.to)) f.to = today();
    if (!/^\d{4}-\d{2}-\d{2}$/.test(f.from)) f.from = daysBefore(f.to, 29);
  }

  function query(extra) {
    var params = new URLSearchParams();
    var f = state.filters;
    Object.keys(f).forEach(function (k) { if (f[k]) params.set(k, f[k]); });
    if (extra) Object.keys(extra).forEach(function (k) { params.set(k, extra[k]); });
    return params.toString();
  }

  function writeUrl() {
    history.replaceState(null, "", location.pathname + "?" + query());
  }

  function fillForm() {
    var f = state.filters;
    $("f-from").value = f.from;
    $("f-to").value = f.to;
    FILTERS.forEach(function (k) { fillSelect(k); $("f-" + k).value = f[k]; });
    var days = daysBetween(f.from, f.to);
    var presets = document.querySelectorAll(".preset");
    for (var i = 0; i < presets.length; i++) {
      var on = f.to === today() && Number(presets[i].getAttribute("data-days")) === days;
      presets[i].setAttribute("aria-pressed", on ? "true" : "false");
    }
  }

  function fillSelect(kind) {
    var select = $("f-" + kind);
    var all = { channel: "All channels", language: "All languages", agent: "All agents", reason: "All reasons" }[kind];
    var options = kind === "reason" ? REASONS : state.options[kind];
    var chosen = state.filters[kind];
    clear(select);
    select.appendChild(el("option", { value: "" }, all));
    var keys = Object.keys(options);
    if (chosen && keys.indexOf(chosen) < 0) keys.push(chosen);  // from the URL
    if (kind !== "reason") keys.sort();
    keys.forEach(function (k) {
      var label = kind === "reason" ? reasonLabel(k) : options[k] && options[k] !== k ? options[k] + " (" + k + ")" : k;
      select.appendChild(el("option", { value: k }, label));
    });
    select.value = chosen;
  }

  function remember(kind, value, label) {
    if (value === null || value === undefined || value === "") return;
    var key = String(value);
    if (!state.options[kind][key] || label) state.options[kind][key] = label ? String(label) : key;
  }

  // The dates the user typed: a clear message for an impossible range (the API says it too).
  function rangeProblem(from, to) {
    if (!from || !to) return "Choose both dates.";
    if (to < from) return "The end date is before the start date.";
    if (daysBetween(from, to) > MAX_DAYS) return "Choose at most " + MAX_DAYS + " days.";
    return "";
  }

  function onFilter() {
    var from = $("f-from").value, to = $("f-to").value;
    var problem = rangeProblem(from, to);
    $("range-note").classList.toggle("bad", !!problem);
    if (problem) { $("range-note").textContent = problem; return; }
    var f = state.filters;
    f.from = from;
    f.to = to;
    FILTERS.forEach(function (k) { f[k] = $("f-" + k).value; });
    load();
  }

  function onPreset(event) {
    var days = Number(event.currentTarget.getAttribute("data-days"));
    state.filters.to = today();
    state.filters.from = daysBefore(state.filters.to, days - 1);
    load();
  }

  function onReset() {
    FILTERS.forEach(function (k) { state.filters[k] = ""; });
    load();
  }

  // ---------------------------------------------------------------- sign-in

  function forget() {
    state.seq++;
    clear($("tiles"));
    clear($("tables"));
    var bodies = document.querySelectorAll(".chart-body");
    for (var i = 0; i < bodies.length; i++) clear(bodies[i]);
  }

  function refuse(text) {
    $("report-body").hidden = true;
    $("refused").hidden = false;
    $("refused-text").textContent = text;
  }

  function showApp(agent) {
    if (ROLES.indexOf(agent.role) < 0) {
      refuse("You are signed in as " + str(agent.display_name || agent.username) + " (" + str(agent.role) +
        "). Ask an admin for a supervisor account to see the reports.");
      return;
    }
    $("refused").hidden = true;
    $("report-body").hidden = false;
    api("GET", "/api/agent/agents").then(function (r) {
      if (!r.ok) return;
      (r.data.agents || []).forEach(function (a) {
        if (a.role !== "writer") remember("agent", a.username, a.display_name);
      });
      fillSelect("agent");
    });
    load();
  }

  // ---------------------------------------------------------------- loading

  function load() {
    var seq = ++state.seq;
    $("range-note").classList.remove("bad");
    fillForm();
    writeUrl();
    $("report").setAttribute("aria-busy", "true");
    var q = query();
    var filtered = FILTERS.some(function (k) { return state.filters[k]; });
    if (filtered) loadOptions();
    var calls = [api("GET", "/api/reports/summary?" + q)].concat(LOADED.map(function (name) {
      return api("GET", "/api/reports/" + name + "?" + q);
    }));
    return Promise.all(calls).then(function (results) {
      if (seq !== state.seq) return;  // a newer choice is loading
      $("report").removeAttribute("aria-busy");
      var summary = results[0];
      if (summary.status === 403) { refuse(str(summary.data.error)); return; }
      if (!summary.ok) {
        if (summary.status !== 401) {
          $("range-note").textContent = str(summary.data.error);
          $("range-note").classList.add("bad");
          session.failed(summary, "Reports");
        }
        return;
      }
      var tables = {};
      LOADED.forEach(function (name, i) {
        var r = results[i + 1];
        if (r.ok) tables[name] = r.data;
        else { tables[name] = { columns: [], rows: [], error: str(r.data.error) }; session.failed(r, name); }
      });
      learnOptions(tables);
      if (!filtered) state.optionsFor = state.filters.from + "|" + state.filters.to;
      fillForm();
      render(summary.data, tables);
    });
  }

  // With a filter on, the tables hold only what matches it: the channels and languages to
  // choose from come from the whole range (once per range).
  function loadOptions() {
    var f = state.filters, key = f.from + "|" + f.to;
    if (state.optionsFor === key) return;
    state.optionsFor = key;
    [["channels", "channel"], ["languages", "language"]].forEach(function (pair) {
      var q = "from=" + encodeURIComponent(f.from) + "&to=" + encodeURIComponent(f.to);
      api("GET", "/api/reports/" + pair[0] + "?" + q).then(function (r) {
        if (!r.ok) return;
        (r.data.rows || []).forEach(function (row) { remember(pair[1], row[pair[1]]); });
        fillSelect(pair[1]);
      });
    });
  }

  function learnOptions(tables) {
    (tables.channels.rows || []).forEach(function (row) { remember("channel", row.channel); });
    (tables.languages.rows || []).forEach(function (row) { remember("language", row.language); });
    (tables.agents.rows || []).forEach(function (row) { remember("agent", row.agent, row.display_name); });
  }

  function render(s, tables) {
    var days = daysBetween(s.from, s.to);
    var active = FILTERS.filter(function (k) { return s.filters && s.filters[k]; }).map(function (k) {
      return k + " " + (k === "reason" ? reasonLabel(s.filters[k]) : str(s.filters[k]));
    });
    $("range-note").textContent = longDay(s.from) + " – " + longDay(s.to) + " · " + plural(days, "day", "days") +
      " (UTC)" + (active.length ? " · only " + active.join(", ") : "");
    renderTiles(s);
    renderDaily($("chart-daily"), s, fillDays(s.from, s.to, tables.daily.rows || []));
    renderOutcomes($("chart-outcomes"), s.bot || {}, s.answer_feedback || {});
    renderReasons($("chart-reasons"), s.handoffs || {});
    renderRatings($("chart-ratings"), s.csat || {});
    renderTables(tables);
    var links = document.querySelectorAll(".chart .downloads");
    for (var i = 0; i < links.length; i++) downloads(links[i], links[i].getAttribute("data-table"));
  }

  // ---------------------------------------------------------------- tiles

  function renderTiles(s) {
    var bot = s.bot || {}, handoffs = s.handoffs || {}, csat = s.csat || {};
    var first = (s.people || {}).first_response || {}, repeat = s.repeat_contact || {};
    var tiles = [
      { key: "conversations", label: "Conversations", value: count(s.conversations),
        sub: plural(s.customer_messages, "customer message", "customer messages"),
        help: "Conversations started in the range, and the messages customers sent in them." },
      { key: "containment", label: "Containment", value: pct(bot.containment),
        sub: bot.containment === null || bot.containment === undefined ? "no bot conversations in this range"
          : count(bot.contained) + " of " + plural(bot.conversations, "conversation", "conversations") + " the bot took",
        help: "Of the conversations the bot replied in, those it resolved: at least one answer, no handoff, no “that didn't help”." },
      { key: "handoff_rate", label: "Handoff rate", value: pct(handoffs.rate),
        sub: plural(handoffs.count, "handoff", "handoffs"),
        help: "Conversations handed to a person." },
      { key: "csat", label: "CSAT", value: pct(csat.score),
        sub: csat.responses ? plural(csat.responses, "rating", "ratings") + ", share of 4–5" : "no ratings in this range",
        help: "Share of 4 and 5 among the ratings after a handoff." },
      { key: "first_response", label: "First response", value: duration(first.median),
        sub: first.count ? "median; p90 " + duration(first.p90) + " · " + plural(first.count, "handoff", "handoffs")
          : "no agent replies in this range",
        help: "Median time from the handoff (queued) to the agent's first message." },
      { key: "repeat_contact", label: "Repeat contact", value: pct(repeat.rate),
        sub: repeat.customers ? count(repeat.repeated) + " of " + plural(repeat.customers, "customer", "customers") + " came back"
          : "no customers in this range",
        help: "Customers who came back within 7 days about the same topic." },
    ];
    var ul = $("tiles");
    clear(ul);
    tiles.forEach(function (t) {
      var li = el("li", { class: "tile card", "data-tile": t.key, title: t.help });
      li.appendChild(el("div", { class: "tile-label" }, t.label));
      li.appendChild(el("div", { class: "tile-value" }, t.value));
      li.appendChild(el("div", { class: "tile-sub small muted" }, t.sub));
      ul.appendChild(li);
    });
  }

  // ---------------------------------------------------------------- charts (inline SVG)

  var W = 560, H = 250;
  var uid = 0;

  // A chart's SVG (role img) named by its <title> and a <desc> that tells the numbers in words:
  // the text alternative screen readers read; `box` is the figure's .chart-body.
  function chartSvg(box, title, desc, height) {
    clear(box);
    var id = "c" + (++uid);
    var root = svg("svg", {
      viewBox: "0 0 " + W + " " + (height || H), role: "img", "aria-labelledby": id + "t " + id + "d",
      class: "chart-svg", preserveAspectRatio: "xMidYMid meet",
    });
    root.appendChild(svg("title", { id: id + "t" }, title));
    root.appendChild(svg("desc", { id: id + "d" }, desc));
    box.appendChild(root);
    return root;
  }

  function emptyChart(box, text) {
    clear(box);
    box.appendChild(el("p", { class: "empty chart-empty" }, text));
  }

  function legend(box, items) {
    var ul = el("ul", { class: "legend", "aria-hidden": "true" });
    items.forEach(function (item) {
      var li = el("li");
      li.appendChild(el("span", { class: "swatch", style: "background:" + item.color }));
      li.appendChild(document.createTextNode(item.label));
      ul.appendChild(li);
    });
    box.appendChild(ul);
  }

  // Round axis ticks from 0 to at least max (whole numbers: these are counts).
  function ticks(max) {
    if (!(max > 0)) return [0, 1];
    var rough = max / 4, pow = Math.pow(10, Math.floor(Math.log(rough) / Math.LN10)), f = rough / pow;
    var step = Math.max(1, (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * pow);
    var out = [];
    for (var v = 0; v < max + step; v += step) out.push(v);
    return out;
  }

  function text(parent, x, y, value, attrs) {
    var a = { x: x, y: y, class: "t" };
    for (var k in attrs || {}) if (Object.prototype.hasOwnProperty.call(attrs, k)) a[k] = attrs[k];
    var node = svg("text", a, value);
    parent.appendChild(node);
    return node;
  }

  // A left axis with grid lines and an axis label; returns y(value).
  function yAxis(root, plot, marks, label) {
    var top = marks[marks.length - 1];
    function y(v) { return plot.y + plot.h - (v / top) * plot.h; }
    marks.forEach(function (v) {
      root.appendChild(svg("line", { x1: plot.x, x2: plot.x + plot.w, y1: y(v), y2: y(v), class: v ? "grid" : "axis" }));
      text(root, plot.x - 6, y(v) + 4, count(v), { "text-anchor": "end" });
    });
    text(root, 12, plot.y + plot.h / 2, label, {
      "text-anchor": "middle", class: "t axis-label", transform: "rotate(-90 12 " + (plot.y + plot.h / 2) + ")",
    });
    return y;
  }

  function fillDays(from, to, rows) {
    var byDate = {};
    rows.forEach(function (r) { byDate[r.date] = r; });
    var out = [], n = daysBetween(from, to);
    for (var i = 0; i < n; i++) {
      var d = isoDay(new Date(utcDay(from).getTime() + i * DAY));
      out.push(byDate[d] || { date: d, conversations: 0, customer_messages: 0 });
    }
    return out;
  }

  function renderDaily(figure, s, days) {
    var box = figure.querySelector(".chart-body");
    var totalConv = days.reduce(function (a, d) { return a + (Number(d.conversations) || 0); }, 0);
    if (!Number(s.conversations) && !totalConv) { emptyChart(box, "No conversations in this range."); return; }
    var busiest = days.reduce(function (a, d) { return Number(d.conversations) > Number(a.conversations) ? d : a; }, days[0]);
    var desc = "From " + longDay(s.from) + " to " + longDay(s.to) + ": " +
      plural(s.conversations, "conversation", "conversations") + " and " +
      plural(s.customer_messages, "customer message", "customer messages") + "; the busiest day was " +
      longDay(busiest.date) + " with " + plural(busiest.conversations, "conversation", "conversations") + ".";
    var root = chartSvg(box, "Conversations and customer messages per day", desc);
    var plot = { x: 56, y: 12, w: W - 56 - 12, h: H - 12 - 46 };
    var max = days.reduce(function (a, d) { return Math.max(a, Number(d.conversations) || 0, Number(d.customer_messages) || 0); }, 0);
    var y = yAxis(root, plot, ticks(max), "Count");
    var step = plot.w / days.length;
    function x(i) { return plot.x + step * (i + 0.5); }
    var every = Math.max(1, Math.ceil(days.length / 8));
    days.forEach(function (d, i) {
      if (i % every === 0) text(root, x(i), plot.y + plot.h + 16, shortDay(d.date), { "text-anchor": "middle" });
    });
    text(root, plot.x + plot.w / 2, H - 6, "Day (UTC)", { "text-anchor": "middle", class: "t axis-label" });
    // one column per day: hovering anywhere in it tells that day's numbers
    days.forEach(function (d, i) {
      var hit = svg("rect", { x: plot.x + step * i, y: plot.y, width: step, height: plot.h, class: "hit", "data-date": d.date });
      hit.appendChild(svg("title", null, longDay(d.date) + ": " + plural(d.conversations, "conversation", "conversations") +
        ", " + plural(d.customer_messages, "customer message", "customer messages")));
      root.appendChild(hit);
    });
    [["conversations", COLORS.conversations, "conversation", "conversations"],
     ["customer_messages", COLORS.messages, "customer message", "customer messages"]].forEach(function (series) {
      var points = days.map(function (d, i) { return x(i).toFixed(1) + "," + y(Number(d[series[0]]) || 0).toFixed(1); });
      root.appendChild(svg("polyline", { points: points.join(" "), fill: "none", stroke: series[1], "stroke-width": 2, class: "line" }));
      if (days.length <= 62) {
        days.forEach(function (d, i) {
          var dot = svg("circle", { cx: x(i), cy: y(Number(d[series[0]]) || 0), r: 3, fill: series[1], class: "dot", "data-series": series[0] });
          dot.appendChild(svg("title", null, longDay(d.date) + ": " + plural(d[series[0]], series[2], series[3])));
          root.appendChild(dot);
        });
      }
    });
    legend(box, [
      { label: "Conversations (" + count(s.conversations) + ")", color: COLORS.conversations },
      { label: "Customer messages (" + count(s.customer_messages) + ")", color: COLORS.messages },
    ]);
  }

  // One 100% stacked bar per row: what the bot did with questions, and what customers said to
  // "did this answer your question?".
  function renderOutcomes(figure, bot, feedback) {
    var box = figure.querySelector(".chart-body");
    if (!Number(bot.replies)) { emptyChart(box, "The bot answered no questions in this range."); return; }
    var yes = Number(feedback.yes) || 0, no = Number(feedback.no) || 0, asked = yes + no;
    var rows = [
      { label: "Questions", total: bot.replies, one: "question", many: "questions", parts: [
        { key: "answered", label: "Answered", color: COLORS.answered, share: Number(bot.answered) || 0 },
        { key: "clarified", label: "Clarified (asked which one)", color: COLORS.clarified, share: Number(bot.clarified) || 0 },
        { key: "unknown", label: "Unknown", color: COLORS.unknown, share: Number(bot.unknown) || 0 },
      ] },
      { label: "Did it help?", total: asked, one: "answer", many: "answers", parts: [
        { key: "yes", label: "Yes", color: COLORS.answered, share: asked ? yes / asked : 0 },
        { key: "no", label: "No", color: COLORS.unknown, share: asked ? no / asked : 0 },
      ] },
    ];
    var desc = "Of " + plural(bot.replies, "question the bot handled", "questions the bot handled") + ": " +
      rows[0].parts.map(function (p) { return p.label.toLowerCase() + " " + pct(p.share); }).join(", ") + ". " +
      (asked ? "Customers said the answer helped " + count(yes) + " times and did not " + count(no) + " times."
        : "No customer said whether an answer helped.");
    var height = 180, barH = 40;
    var root = chartSvg(box, "What the bot did with questions", desc, height);
    var plot = { x: 96, y: 14, w: W - 96 - 16, h: 2 * barH + 24 };
    rows.forEach(function (row, i) {
      var top = plot.y + i * (barH + 24), at = plot.x;
      text(root, plot.x - 8, top + barH / 2 - 2, row.label, { "text-anchor": "end", class: "t axis-label" });
      text(root, plot.x - 8, top + barH / 2 + 12, plural(row.total, row.one, row.many), { "text-anchor": "end" });
      if (!row.total) {
        root.appendChild(svg("rect", { x: plot.x, y: top, width: plot.w, height: barH, class: "none" }));
        text(root, plot.x + plot.w / 2, top + barH / 2 + 4, "no answers to “did this answer your question?” yet", { "text-anchor": "middle" });
        return;
      }
      row.parts.forEach(function (p) {
        var w = plot.w * p.share;
        if (w <= 0) return;
        var seg = svg("rect", { x: at, y: top, width: w, height: barH, fill: p.color, class: "seg", "data-part": p.key });
        seg.appendChild(svg("title", null, p.label + ": " + pct(p.share) + " of " + plural(row.total, row.one, row.many)));
        root.appendChild(seg);
        if (w > 40) text(root, at + w / 2, top + barH / 2 + 5, pct(p.share), { "text-anchor": "middle", class: "t on-bar" });
        at += w;
      });
    });
    var axisY = plot.y + plot.h;
    [0, 0.25, 0.5, 0.75, 1].forEach(function (v) {
      var x = plot.x + plot.w * v;
      root.appendChild(svg("line", { x1: x, x2: x, y1: axisY, y2: axisY + 5, class: "axis" }));
      text(root, x, axisY + 18, pct(v), { "text-anchor": v === 0 ? "start" : v === 1 ? "end" : "middle" });
    });
    text(root, plot.x + plot.w / 2, height - 6, "Share of the row", { "text-anchor": "middle", class: "t axis-label" });
    legend(box, rows[0].parts.map(function (p) { return { label: p.label + " " + pct(p.share), color: p.color }; })
      .concat(asked ? [{ label: "Helped " + count(yes) + " · did not " + count(no), color: "linear-gradient(90deg," + COLORS.answered + " 50%," + COLORS.unknown + " 50%)" }] : []));
  }

  function renderReasons(figure, handoffs) {
    var box = figure.querySelector(".chart-body");
    var rows = (handoffs.by_reason || []).filter(function (r) { return Number(r.count) > 0; });
    if (!rows.length) { emptyChart(box, "No handoffs in this range."); return; }
    var desc = plural(handoffs.count, "handoff", "handoffs") + ": " + rows.map(function (r) {
      return reasonLabel(r.reason) + " " + count(r.count) + " (" + pct(r.rate) + " of conversations)";
    }).join(", ") + ".";
    var rowH = 30, height = 40 + rows.length * rowH + 34;
    var root = chartSvg(box, "Handoffs by reason", desc, height);
    var plot = { x: 150, y: 10, w: W - 150 - 90, h: rows.length * rowH };
    var marks = ticks(rows.reduce(function (a, r) { return Math.max(a, Number(r.count)); }, 0));
    var top = marks[marks.length - 1];
    marks.forEach(function (v) {
      var x = plot.x + plot.w * v / top;
      root.appendChild(svg("line", { x1: x, x2: x, y1: plot.y, y2: plot.y + plot.h, class: v ? "grid" : "axis" }));
      text(root, x, plot.y + plot.h + 16, count(v), { "text-anchor": "middle" });
    });
    rows.forEach(function (r, i) {
      var yy = plot.y + i * rowH + 5, w = plot.w * Number(r.count) / top;
      text(root, plot.x - 8, yy + 14, reasonLabel(r.reason), { "text-anchor": "end" });
      var bar = svg("rect", { x: plot.x, y: yy, width: Math.max(w, 1), height: rowH - 10, fill: COLORS.bar, class: "bar", "data-reason": r.reason });
      bar.appendChild(svg("title", null, reasonLabel(r.reason) + ": " + plural(r.count, "handoff", "handoffs") + " (" + pct(r.rate) + " of conversations)"));
      root.appendChild(bar);
      text(root, plot.x + w + 6, yy + 14, count(r.count) + " · " + pct(r.rate), { class: "t value" });
    });
    text(root, plot.x + plot.w / 2, height - 6, "Handoffs (and the share of conversations handed off)", { "text-anchor": "middle", class: "t axis-label" });
  }

  function renderRatings(figure, csat) {
    var box = figure.querySelector(".chart-body");
    var dist = csat.distribution || {};
    var scores = ["1", "2", "3", "4", "5"];
    var total = scores.reduce(function (a, k) { return a + (Number(dist[k]) || 0); }, 0);
    if (!total) { emptyChart(box, "No ratings in this range."); return; }
    var desc = plural(total, "rating", "ratings") + " (CSAT " + pct(csat.score) + "): " +
      scores.map(function (k) { return count(dist[k] || 0) + " × " + k; }).join(", ") + ".";
    var root = chartSvg(box, "Ratings after a handoff", desc);
    var plot = { x: 56, y: 24, w: W - 56 - 12, h: H - 24 - 46 };
    var y = yAxis(root, plot, ticks(scores.reduce(function (a, k) { return Math.max(a, Number(dist[k]) || 0); }, 0)), "Ratings");
    var slot = plot.w / scores.length;
    scores.forEach(function (k, i) {
      var n = Number(dist[k]) || 0, x = plot.x + slot * i + slot * 0.2, w = slot * 0.6;
      var color = k <= "2" ? COLORS.low : k === "3" ? COLORS.mid : COLORS.high;
      var bar = svg("rect", { x: x, y: y(n), width: w, height: Math.max(0, plot.y + plot.h - y(n)), fill: color, class: "bar", "data-score": k });
      bar.appendChild(svg("title", null, "Score " + k + ": " + plural(n, "rating", "ratings") + " (" + pct(n / total) + ")"));
      root.appendChild(bar);
      text(root, x + w / 2, y(n) - 5, count(n), { "text-anchor": "middle", class: "t value", "data-score": k });
      text(root, x + w / 2, plot.y + plot.h + 16, k, { "text-anchor": "middle" });
    });
    text(root, plot.x + plot.w / 2, H - 6, "Score (1 = very unhappy, 5 = very happy)", { "text-anchor": "middle", class: "t axis-label" });
  }

  // ---------------------------------------------------------------- tables

  function downloads(span, table) {
    clear(span);
    ["csv", "json"].forEach(function (format) {
      var link = el("a", {
        class: "dl", "data-format": format, href: "/api/reports/" + table + "?" + query({ format: format }),
        download: table + "-" + state.filters.from + "-" + state.filters.to + "." + format,
        title: "Download this table as " + format.toUpperCase(),
      }, format.toUpperCase());
      span.appendChild(link);
    });
  }

  function renderTables(tables) {
    var box = $("tables");
    clear(box);
    TABLES.forEach(function (t) {
      var data = tables[t.name] || { columns: [], rows: [] };
      var section = el(t.collapsed ? "details" : "section", { class: "card table-card", id: "table-" + t.name, "data-table": t.name });
      var head = el(t.collapsed ? "summary" : "div", { class: "table-head" });
      head.appendChild(el("h3", null, t.title));
      var links = el("span", { class: "downloads" });
      downloads(links, t.name);
      head.appendChild(links);
      section.appendChild(head);
      if (t.hint) section.appendChild(el("p", { class: "small muted hint" }, t.hint));
      var rows = Array.isArray(data.rows) ? data.rows : [];
      var columns = Array.isArray(data.columns) ? data.columns : [];
      if (data.error) section.appendChild(el("p", { class: "form-error" }, data.error));
      else if (!rows.length) section.appendChild(el("p", { class: "empty" }, t.empty));
      else section.appendChild(grid(columns, rows));
      box.appendChild(section);
    });
  }

  function grid(columns, rows) {
    var wrap = el("div", { class: "table-wrap" });
    var table = el("table", { class: "grid" });
    var tr = el("tr");
    columns.forEach(function (c) { tr.appendChild(el("th", { scope: "col", "data-column": c }, LABELS[c] || c)); });
    table.appendChild(el("thead")).appendChild(tr);
    var body = el("tbody");
    rows.forEach(function (row) {
      var line = el("tr");
      columns.forEach(function (c) {
        var value = row[c];
        var numeric = typeof value === "number";
        var td = el("td", { "data-column": c, class: numeric ? "num" : c === "comment" || c === "label" || c === "topic" ? "text" : null }, cell(c, value));
        if (!numeric) td.setAttribute("dir", "auto");
        line.appendChild(td);
      });
      body.appendChild(line);
    });
    table.appendChild(body);
    wrap.appendChild(table);
    return wrap;
  }

  // ---------------------------------------------------------------- start

  function start() {
    readUrl();
    $("filters").addEventListener("submit", function (e) { e.preventDefault(); onFilter(); });
    ["f-from", "f-to"].concat(FILTERS.map(function (k) { return "f-" + k; })).forEach(function (id) {
      $(id).addEventListener("change", onFilter);
    });
    var presets = document.querySelectorAll(".preset");
    for (var i = 0; i < presets.length; i++) presets[i].addEventListener("click", onPreset);
    $("f-reset").addEventListener("click", onReset);
    session.start();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
