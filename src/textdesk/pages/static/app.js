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

  // Fetch `url&since=stamp`: 204 means nothing changed; 200 carries the new HTML. The server's
  // event stream says when to ask; while it is not connected, a timer asks every `every` ms.
  var streaming = false;
  function live(element, every, onChange) {
    var busy = false;
    var last = 0;
    function tick() {
      if (busy) return;
      busy = true;
      last = Date.now();
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
    window.setInterval(function () {
      if (document.hidden) return;
      if (streaming && Date.now() - last < 30000) return;  // the stream covers it; a slow check stays
      tick();
    }, every);
    return tick;
  }

  // --- inbox list (left pane) -------------------------------------------------------------
  var rows = document.getElementById("inbox-rows");
  var rowsTick = null;
  if (rows && rows.dataset.pollUrl) {
    rowsTick = live(rows, 2000, function (html, response) {
      var focused = rows.contains(document.activeElement) ?
        document.activeElement.closest("[data-conversation]") : null;
      var focusedId = focused ? focused.dataset.conversation : null;
      rows.innerHTML = html;
      if (focusedId) {
        var again = rows.querySelector('[data-conversation="' + focusedId + '"] a');
        if (again) again.focus();
      }
      var total = parseInt(response.headers.get("X-Inbox-Total"), 10);
      var totalText = document.getElementById("inbox-total");
      if (totalText && !isNaN(total)) {
        totalText.textContent = total.toLocaleString("en-US") + " conversation" + (total === 1 ? "" : "s");
      }
      var unreadFilter = document.getElementById("unread-filter-count");
      var unread = response.headers.get("X-Unread-Total");
      if (unreadFilter && unread !== null) unreadFilter.textContent = unread;
      var note = document.getElementById("inbox-live");
      if (note) note.textContent = "Inbox updated.";
    });
  }

  // --- conversation thread (right pane) ---------------------------------------------------
  var thread = document.getElementById("thread");
  var threadTick = null;
  function scrollThread() { if (thread) thread.scrollTop = thread.scrollHeight; }
  if (thread && thread.dataset.pollUrl) {
    scrollThread();
    threadTick = live(thread, 1500, function (html) {
      var open = {};
      thread.querySelectorAll("details.status[open]").forEach(function (d) { open[d.dataset.id] = true; });
      var atBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 40;
      thread.innerHTML = html;
      thread.querySelectorAll("details.status").forEach(function (d) { if (open[d.dataset.id]) d.open = true; });
      if (atBottom) scrollThread();
    });
  }

  // --- a test text's result, until it arrives or fails ------------------------------------
  var testResult = document.getElementById("test-result");
  if (testResult && testResult.dataset.pollUrl) {
    live(testResult, 1000, function (html) { testResult.innerHTML = html; });
  }

  // --- Server-Sent Events: told the moment something changed; polling is the fallback ----
  if (window.EventSource && rows && rows.dataset.eventsUrl) {
    var source = new EventSource(rows.dataset.eventsUrl, { withCredentials: true });
    source.addEventListener("open", function () { streaming = true; document.body.dataset.live = "stream"; });
    source.addEventListener("error", function () { streaming = false; document.body.dataset.live = "poll"; });
    source.addEventListener("inbox", function (e) {
      if (rowsTick && e.data !== rows.dataset.stamp) rowsTick();
    });
    source.addEventListener("thread", function (e) {
      if (threadTick && thread && e.data !== thread.dataset.stamp) threadTick();
    });
  }

  // --- keyboard: n for a new text; j/k or arrows through the list, Enter opens -----------
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) {
      if (e.key === "Escape") t.blur();
      return;
    }
    if (e.key === "n") {
      var button = document.getElementById("new-text-button");
      if (button) { e.preventDefault(); window.location.href = button.href; }
      return;
    }
    if (!rows) return;
    var arrow = e.key === "ArrowDown" || e.key === "ArrowUp";
    var down = e.key === "j" || e.key === "ArrowDown";
    if (!down && e.key !== "k" && e.key !== "ArrowUp") return;
    if (arrow && !rows.contains(document.activeElement)) return;  // arrows still scroll the page
    var links = Array.prototype.slice.call(rows.querySelectorAll("a.convo-link"));
    if (!links.length) return;
    var at = links.indexOf(document.activeElement);
    if (at < 0) at = links.findIndex(function (a) { return a.getAttribute("aria-current") === "page"; });
    var next = at < 0 ? 0 : Math.max(0, Math.min(links.length - 1, at + (down ? 1 : -1)));
    e.preventDefault();
    links[next].focus();
    links[next].scrollIntoView({ block: "nearest" });
  });

  // --- new text: matches while staff type ------------------------------------------------
  var who = document.getElementById("who");
  var people = document.getElementById("people-results");
  if (who && people && who.dataset.resultsUrl) {
    var whoTimer = null;
    var whoAsked = 0;
    who.addEventListener("input", function () {
      window.clearTimeout(whoTimer);
      whoTimer = window.setTimeout(function () {
        var mine = ++whoAsked;
        fetch(who.dataset.resultsUrl + "?who=" + encodeURIComponent(who.value),
              { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : null; })
          .then(function (html) { if (html !== null && mine === whoAsked) people.innerHTML = html; })
          .catch(function () {});
      }, 200);
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
        li.title = "Reason code, for support: " + r.code;
        var text = document.createElement("span");
        text.className = "reason-text";
        text.textContent = r.message;
        var fix = document.createElement("span");
        fix.className = "fix";
        fix.textContent = fixLabel + r.fix;
        var code = document.createElement("span");
        code.className = "reason-code";
        code.textContent = r.code;
        li.appendChild(text);
        li.appendChild(document.createTextNode(" "));
        li.appendChild(fix);
        li.appendChild(document.createTextNode(" "));
        li.appendChild(code);
        list.appendChild(li);
      });
      block.hidden = reasons.length === 0;
    }

    var picture = document.getElementById("picture");
    function files() { return picture && picture.files ? picture.files.length : 0; }

    function show(result, draft) {
      var stats = document.getElementById("draft-stats");
      var blockers = result.blockers || [];
      // An empty box is not a problem to shout about; Send simply stays off.
      var onlyEmpty = draft.trim() === "" && blockers.every(function (r) { return r.code === "body_empty"; });
      if (onlyEmpty) blockers = [];
      stats.textContent = files() ? "MMS with " + files() + " file · $" + result.cost_usd :
        draft.length === 0 ? "" :
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
        body: JSON.stringify({ body: draft, media: files() })
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
    if (picture) picture.addEventListener("change", ask);
    ask();
  }
  // --- a value shown once (a webhook's signing secret): the Copy button --------------------
  // Without this file the secret is still selectable by hand; the button only saves a step.
  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
    var field = document.getElementById(button.dataset.copy);
    var said = document.querySelector('[data-copied="' + button.dataset.copy + '"]');
    if (!field) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      field.select();
      var done = function () { if (said) said.hidden = false; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          if (document.execCommand("copy")) done();
        });
      } else if (document.execCommand("copy")) {
        done();
      }
    });
  });
})();
