// textdesk staff pages: live inbox, live thread, and the send box checked as staff type.
// Everything works without this file; it only saves reloads.
"use strict";

(function () {
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  function setUnread(total) {
    var badge = document.getElementById("unread-total");
    if (!badge || total === null || total === undefined) return;
    var n = parseInt(total, 10);
    if (isNaN(n)) return;
    badge.dataset.count = String(n);
    badge.firstChild.nodeValue = String(n);
    badge.classList.toggle("count-on", n > 0);
  }

  // Poll `url&since=stamp`: 204 means nothing changed; 200 carries the new HTML.
  function poll(element, every, onChange) {
    var busy = false;
    function tick() {
      if (busy || document.hidden) return;
      busy = true;
      var url = element.dataset.pollUrl;
      url += (url.indexOf("?") >= 0 ? "&" : "?") + "since=" + encodeURIComponent(element.dataset.stamp || "");
      fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (response) {
          setUnread(response.headers.get("X-Unread-Total"));
          if (response.status === 401) { window.location.reload(); return null; }
          if (response.status !== 200) return null;
          var stamp = response.headers.get("X-Inbox-Stamp") || response.headers.get("X-Thread-Stamp");
          return response.text().then(function (html) {
            element.dataset.stamp = stamp || "";
            onChange(html, response);
          });
        })
        .catch(function () { /* offline for a moment: the next tick tries again */ })
        .then(function () { busy = false; });
    }
    window.setInterval(tick, every);
  }

  // --- inbox -----------------------------------------------------------------------------
  var rows = document.getElementById("inbox-rows");
  if (rows && rows.dataset.pollUrl) {
    poll(rows, 2000, function (html, response) {
      rows.innerHTML = html;
      var total = parseInt(response.headers.get("X-Inbox-Total"), 10);
      var totalText = document.getElementById("inbox-total");
      if (totalText && !isNaN(total)) {
        totalText.textContent = total.toLocaleString("en-US") + " conversation" + (total === 1 ? "" : "s");
      }
      var unreadFilter = document.getElementById("unread-filter-count");
      var unread = response.headers.get("X-Unread-Total");
      if (unreadFilter && unread !== null) unreadFilter.textContent = unread;
      var live = document.getElementById("inbox-live");
      if (live) live.textContent = "Inbox updated.";
    });
  }

  // --- conversation thread ---------------------------------------------------------------
  var thread = document.getElementById("thread");
  function scrollThread() { if (thread) thread.scrollTop = thread.scrollHeight; }
  if (thread && thread.dataset.pollUrl) {
    scrollThread();
    poll(thread, 1500, function (html) {
      var open = {};
      thread.querySelectorAll("details.status[open]").forEach(function (d) { open[d.dataset.id] = true; });
      var atBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 40;
      thread.innerHTML = html;
      thread.querySelectorAll("details.status").forEach(function (d) { if (open[d.dataset.id]) d.open = true; });
      if (atBottom) scrollThread();
    });
  }

  // --- send box: the same rules as Send, asked while typing ------------------------------
  var body = document.getElementById("body");
  var sendButton = document.getElementById("send");
  var check = document.getElementById("draft-check");
  if (body && sendButton && check && body.dataset.checkUrl) {
    var timer = null;
    var asked = 0;

    function fill(kind, reasons, fixLabel) {
      var block = check.querySelector('[data-kind="' + kind + '"]');
      if (!block) return;
      var list = block.querySelector("ul");
      list.textContent = "";
      reasons.forEach(function (r) {
        var li = document.createElement("li");
        var code = document.createElement("span");
        code.className = "reason-code";
        code.textContent = r.code;
        var fix = document.createElement("span");
        fix.className = "fix";
        fix.textContent = fixLabel + r.fix;
        li.appendChild(code);
        li.appendChild(document.createTextNode(" " + r.message + " "));
        li.appendChild(fix);
        list.appendChild(li);
      });
      block.hidden = reasons.length === 0;
    }

    function show(result, draft) {
      var stats = document.getElementById("draft-stats");
      var blockers = result.blockers || [];
      // An empty box is not a problem to shout about; Send simply stays off.
      var onlyEmpty = draft.trim() === "" && blockers.every(function (r) { return r.code === "body_empty"; });
      if (onlyEmpty) blockers = [];
      stats.textContent = draft.length === 0 ? "" :
        result.characters + " characters · " + result.segments + " segment" + (result.segments === 1 ? "" : "s") +
        " · " + result.encoding + " · $" + result.cost_usd;
      fill("blockers", blockers, "Fix: ");
      fill("holds", result.holds || [], "What to do: ");
      fill("warnings", result.warnings || [], "Tip: ");
      var blocked = !result.can_text;
      sendButton.disabled = blocked;
      var note = document.getElementById("send-state");
      if (note) note.textContent = blocked ? (onlyEmpty ? "Write the text to send it." : "Send is off until every blocker above is fixed.") : "";
    }

    function ask() {
      var draft = body.value;
      var mine = ++asked;
      fetch(body.dataset.checkUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "X-Requested-With": "fetch" },
        body: JSON.stringify({ body: draft })
      }).then(function (response) {
        if (response.status === 401) { window.location.reload(); return null; }
        return response.ok ? response.json() : null;
      }).then(function (result) {
        if (result && mine === asked) show(result, draft);  // ignore answers to older drafts
      }).catch(function () {});
    }

    // One click, one text: a second click while the page posts would send it twice.
    var form = document.getElementById("sendbox");
    if (form) form.addEventListener("submit", function () {
      window.setTimeout(function () { sendButton.disabled = true; }, 0);
    });

    body.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, 250);
    });
    ask();
  }
})();
