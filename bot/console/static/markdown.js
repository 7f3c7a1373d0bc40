/* A small Markdown subset for the writers' preview, built as DOM nodes from text nodes only:
   no HTML in the source is ever parsed or executed (a "<script>" stays the text "<script>").
   Blocks: # headings (1-6), - / * / + lists, 1. numbered lists, ``` code fences, paragraphs.
   Inline: `code`, **bold**, *italic* / _italic_, [text](http(s) links only). */
(function () {
  "use strict";

  function el(tag, text) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  var SAFE_URL = /^https?:\/\/[^\s<>"']+$/i;

  // inline: scan left to right for the earliest marker
  var INLINE = [
    { re: /`([^`\n]+)`/, make: function (m) { return el("code", m[1]); } },
    { re: /\*\*([^*\n]+?)\*\*/, make: function (m) { var b = el("strong"); inline(b, m[1]); return b; } },
    { re: /__([^_\n]+?)__/, make: function (m) { var b = el("strong"); inline(b, m[1]); return b; } },
    { re: /\*([^*\n]+?)\*/, make: function (m) { var i = el("em"); inline(i, m[1]); return i; } },
    { re: /(^|[^\w])_([^_\n]+?)_(?!\w)/, lead: true, make: function (m) { var i = el("em"); inline(i, m[2]); return i; } },
    {
      re: /\[([^\]\n]+)\]\(([^)\s]+)\)/,
      make: function (m) {
        if (!SAFE_URL.test(m[2])) return document.createTextNode(m[1] + " (" + m[2] + ")");
        var a = el("a");
        a.setAttribute("href", m[2]);
        a.setAttribute("rel", "noopener noreferrer nofollow");
        a.setAttribute("target", "_blank");
        inline(a, m[1]);
        return a;
      },
    },
  ];

  function inline(parent, text) {
    while (text) {
      var best = null;
      for (var i = 0; i < INLINE.length; i++) {
        var m = INLINE[i].re.exec(text);
        if (!m) continue;
        var start = m.index + (INLINE[i].lead ? m[1].length : 0);
        if (!best || start < best.start) best = { rule: INLINE[i], m: m, start: start };
      }
      if (!best) { parent.appendChild(document.createTextNode(text)); return; }
      if (best.start > 0) parent.appendChild(document.createTextNode(text.slice(0, best.start)));
      parent.appendChild(best.rule.make(best.m));
      text = text.slice(best.m.index + best.m[0].length);
    }
  }

  function render(source, container) {
    while (container.firstChild) container.removeChild(container.firstChild);
    var lines = String(source || "").replace(/\r\n?/g, "\n").split("\n");
    var i = 0, para = [], list = null, listKind = "";

    function flushPara() {
      if (!para.length) return;
      var p = el("p");
      para.forEach(function (line, n) {
        if (n) p.appendChild(el("br"));
        inline(p, line);
      });
      container.appendChild(p);
      para = [];
    }
    function flushList() { list = null; listKind = ""; }

    while (i < lines.length) {
      var line = lines[i];
      var fence = /^\s*```/.exec(line);
      if (fence) {
        flushPara(); flushList();
        var code = [];
        i++;
        while (i < lines.length && !/^\s*```/.test(lines[i])) code.push(lines[i++]);
        i++;  // the closing fence (or the end)
        var pre = el("pre");
        pre.appendChild(el("code", code.join("\n")));
        container.appendChild(pre);
        continue;
      }
      var heading = /^(#{1,6})\s+(.*)$/.exec(line);
      var bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
      var numbered = /^\s*\d{1,3}[.)]\s+(.*)$/.exec(line);
      if (heading) {
        flushPara(); flushList();
        var h = el("h" + Math.min(6, heading[1].length + 2));  // below the page's own headings
        inline(h, heading[2].replace(/\s+#+\s*$/, ""));
        container.appendChild(h);
      } else if (bullet || numbered) {
        flushPara();
        var kind = bullet ? "ul" : "ol";
        if (!list || listKind !== kind) {
          list = el(kind);
          listKind = kind;
          container.appendChild(list);
        }
        var li = el("li");
        inline(li, (bullet || numbered)[1]);
        list.appendChild(li);
      } else if (!line.trim()) {
        flushPara(); flushList();
      } else {
        flushList();
        para.push(line.trim());
      }
      i++;
    }
    flushPara();
  }

  window.SupportbotMarkdown = { render: render };
})();
