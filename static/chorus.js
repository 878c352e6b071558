// Chorus pages: the page websocket is htmx's ws extension (<body ws-connect>), which swaps each HTML fragment
// the server sends in place of the element with its id. This file adds what a fragment cannot do by itself:
// the connection indicator, the tab title and favicon counting sessions that need a human, desktop notices,
// ticking "for 3m 12s" ages, Ctrl+Enter to send, copy buttons, and keeping <details> open across swaps.
(function () {
  "use strict";

  // --- connection indicator ---------------------------------------------------------------------------------
  function setLive(state, text) {
    const el = document.getElementById("live-status");
    if (el) { el.dataset.state = state; el.textContent = text; }
    document.body.dataset.live = state;
  }

  // --- sessions that need a human: title, favicon, notices --------------------------------------------------
  let known = null; // names waiting at the last look; null until the page's own first look
  const baseTitle = () => document.title.replace(/^\(\d+\) /, "");

  function favicon(count) {
    const link = document.getElementById("favicon");
    if (!link) return;
    const fill = count ? "%23b42318" : "%232f5bd3";
    const badge = count
      ? `%3Ctext x='16' y='22' font-size='18' font-family='sans-serif' font-weight='700' text-anchor='middle' fill='white'%3E${count > 9 ? "9+" : count}%3C/text%3E`
      : "";
    // a square when someone waits, a circle when nobody does: the shape tells as well as the colour
    const shape = count
      ? `%3Crect x='2' y='2' width='28' height='28' rx='6' fill='${fill}'/%3E`
      : `%3Ccircle cx='16' cy='16' r='13' fill='${fill}'/%3E`;
    link.href = `data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E${shape}${badge}%3C/svg%3E`;
  }

  function lookAtWaiting() {
    const el = document.getElementById("needs-human");
    if (!el) return;
    const names = (el.dataset.names || "").split(" ").filter(Boolean);
    const urls = (el.dataset.urls || "").split(" ").filter(Boolean); // each name's session page, in order
    document.title = (names.length ? `(${names.length}) ` : "") + baseTitle();
    favicon(names.length);
    if (known !== null && "Notification" in window && Notification.permission === "granted") {
      names.forEach((n, i) => {
        if (known.has(n)) return;
        const notice = new Notification(`${n} needs you`, { body: "An agent is waiting for an answer.", tag: `chorus-${n}` });
        notice.onclick = () => { window.focus(); location.href = urls[i]; };
      });
    }
    known = new Set(names);
  }

  function setUpNotifications() {
    const button = document.getElementById("notify-enable");
    if (!button || !("Notification" in window) || Notification.permission !== "default") return;
    button.hidden = false;
    button.addEventListener("click", () => {
      Notification.requestPermission().then(() => { button.hidden = true; });
    });
  }

  // --- ages: "for 3m 12s" keeps counting between pushes ---------------------------------------------------------
  function age(seconds) {
    if (seconds < 60) return `${seconds}s`;
    const m = Math.floor(seconds / 60);
    if (m < 60) return `${m}m ${seconds % 60}s`;
    const h = Math.floor(m / 60);
    if (h < 24) return `${h}h ${m % 60}m`;
    return `${Math.floor(h / 24)}d ${h % 24}h`;
  }
  function tickAges() {
    const now = Date.now();
    document.querySelectorAll("time.age[datetime]").forEach((el) => {
      const t = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(t)) el.textContent = age(Math.max(0, Math.floor((now - t) / 1000)));
    });
  }

  // --- keep the reader's place across swaps -----------------------------------------------------------------------
  let openDetails = [];
  function rememberOpen() {
    openDetails = [...document.querySelectorAll("details[open]")].map((d) => d.closest("[id]")).filter(Boolean).map((e) => e.id);
  }
  function restoreOpen() {
    openDetails.forEach((id) => {
      const el = document.getElementById(id);
      const d = el && (el.matches("details") ? el : el.querySelector("details"));
      if (d) d.open = true;
    });
  }

  // --- a terminal's news is at its bottom: keep a mirror scrolled there unless the reader scrolled up ----------
  let screenPinned = true;
  function pinScreens() {
    document.querySelectorAll(".term.screen").forEach((el) => {
      if (screenPinned) el.scrollTop = el.scrollHeight;
      if (!el.dataset.watched) {
        el.dataset.watched = "1";
        el.addEventListener("scroll", () => { screenPinned = el.scrollTop + el.clientHeight >= el.scrollHeight - 4; });
      }
    });
  }

  // --- messages are toasts at the bottom of the window, where the person is looking: successes step aside
  // after a while, errors stay until the next action or their close button --------------------------------------
  function fadeFlash() {
    // Two answers swapped at once may leave two flash areas for a moment: the newest keeps every message.
    const areas = document.querySelectorAll("#flash");
    const newest = areas[areas.length - 1];
    areas.forEach((area) => {
      if (area === newest) return;
      newest.prepend(...area.querySelectorAll(".msg"));
      area.remove();
    });
    document.querySelectorAll("#flash .msg").forEach((el) => {
      if (!el.querySelector(".toast-close")) {
        const close = document.createElement("button");
        close.type = "button"; close.className = "toast-close"; close.setAttribute("aria-label", "Dismiss"); close.textContent = "×";
        close.addEventListener("click", () => el.remove());
        el.appendChild(close);
      }
      if (!el.classList.contains("msg-success") || el.dataset.fading) return;
      el.dataset.fading = "1";
      setTimeout(() => el.remove(), 6000);
    });
  }

  // --- document viewer: choose lines with the mouse (drag over numbers, or select text) or the two inputs ------
  // The two inputs show a selection made with the mouse; what is typed into them is used as typed and never
  // rewritten (typing From 60 over a selection of 41-47 must not turn the From box into 47).
  const selection = { start: null, end: null };
  function showSelection(typed) {
    const lo = Math.min(selection.start, selection.end), hi = Math.max(selection.start, selection.end);
    document.querySelectorAll(".lines .line.selected").forEach((el) => el.classList.remove("selected"));
    if (selection.start === null) return;
    for (let n = lo; n <= hi; n++) {
      const el = document.getElementById(`L${n}`);
      if (el) el.classList.add("selected");
    }
    const from = document.getElementById("sel-start"), to = document.getElementById("sel-end");
    if (!typed) {
      if (from) from.value = lo;
      if (to) to.value = hi;
    }
    document.querySelectorAll("[data-sel=start]").forEach((el) => { el.value = lo; });
    document.querySelectorAll("[data-sel=end]").forEach((el) => { el.value = hi; });
    const panel = document.getElementById("attach-panel");
    if (panel) panel.dataset.selected = `${lo}-${hi}`;
  }
  function lineOf(node) {
    const el = node && (node.nodeType === 1 ? node : node.parentElement);
    const line = el && el.closest(".lines .line");
    return line ? Number(line.dataset.line) : null;
  }
  function setUpDocument() {
    let dragging = false;
    document.addEventListener("mousedown", (event) => {
      const n = event.target.closest && event.target.closest(".lines .ln") ? lineOf(event.target) : null;
      if (n === null) return;
      event.preventDefault();
      dragging = true;
      if (event.shiftKey && selection.start !== null) selection.end = n; else { selection.start = n; selection.end = n; }
      showSelection();
    });
    document.addEventListener("mouseover", (event) => {
      if (!dragging) return;
      const n = lineOf(event.target);
      if (n !== null) { selection.end = n; showSelection(); }
    });
    document.addEventListener("mouseup", () => {
      if (dragging) { dragging = false; return; }
      const chosen = window.getSelection();
      if (!chosen || chosen.isCollapsed) return;
      const a = lineOf(chosen.anchorNode), b = lineOf(chosen.focusNode);
      if (a !== null && b !== null) { selection.start = a; selection.end = b; showSelection(); }
    });
    document.addEventListener("click", (event) => {
      if (event.target.closest && event.target.closest(".lines .ln")) event.preventDefault();
    });
    ["sel-start", "sel-end"].forEach((id) => {
      const input = document.getElementById(id);
      if (!input) return;
      input.addEventListener("input", () => {
        const from = Number(document.getElementById("sel-start").value), to = Number(document.getElementById("sel-end").value || from);
        if (from > 0) { selection.start = from; selection.end = to > 0 ? to : from; showSelection(true); }
      });
    });
    document.addEventListener("submit", (event) => {
      if (event.target.matches("[data-attach]") && selection.start === null) {
        event.preventDefault();
        event.stopPropagation();
        alert("Choose lines first: drag over line numbers or select text.");
      }
    }, true);
  }

  // --- forms: a form marked data-reset empties after it succeeded, so a second click cannot make a duplicate;
  // a form being typed in (inside [data-keep-while-editing]) is kept as typed when a live update re-renders
  // around it, and after it saved (or on Discard) shows the task as it is now --------------------------------
  function refresh(kept) {
    delete kept.dataset.editing;
    const target = kept.dataset.refresh;
    if (target && document.querySelector(target)) {
      htmx.ajax("GET", location.pathname + location.search, { target, select: target, swap: "outerHTML" });
    }
  }
  function setUpForms() {
    document.addEventListener("input", (event) => {
      const kept = event.target.closest && event.target.closest("[data-keep-while-editing][id]");
      if (kept) kept.dataset.editing = "1";
    });
    document.addEventListener("click", (event) => {
      const discard = event.target.closest && event.target.closest("[data-discard]");
      const kept = discard && discard.closest("[data-keep-while-editing]");
      if (kept) refresh(kept);
    });
    document.body.addEventListener("htmx:afterRequest", (event) => {
      const form = event.detail.elt;
      if (!event.detail.successful || !form || !form.matches || !form.matches("form")) return;
      if (form.matches("[data-reset]")) form.reset();
      const kept = form.closest("[data-keep-while-editing]");
      if (kept) refresh(kept);
    });
    // a live update brings the element fresh; while it is being typed in, the one on the page stays instead
    document.body.addEventListener("htmx:oobBeforeSwap", (event) => {
      const fragment = event.detail.fragment;
      if (!fragment || !fragment.querySelector) return;
      document.querySelectorAll("[data-keep-while-editing][data-editing][id]").forEach((kept) => {
        const incoming = fragment.querySelector(`#${CSS.escape(kept.id)}`);
        if (incoming) incoming.setAttribute("hx-preserve", "true");
      });
    });
  }

  // --- task board: drag a card to a column (each card's move menu does the same from the keyboard) -----------
  function setUpBoard() {
    let dragged = null;
    document.addEventListener("dragstart", (event) => {
      const card = event.target.closest && event.target.closest(".task-card[draggable]");
      if (!card) return;
      dragged = card;
      event.dataTransfer.setData("text/plain", card.dataset.task);
      event.dataTransfer.effectAllowed = "move";
    });
    document.addEventListener("dragover", (event) => {
      const column = event.target.closest && event.target.closest(".column[data-status]");
      if (column && dragged) { event.preventDefault(); column.classList.add("drop"); }
    });
    document.addEventListener("dragleave", (event) => {
      const column = event.target.closest && event.target.closest(".column[data-status]");
      if (column) column.classList.remove("drop");
    });
    document.addEventListener("drop", (event) => {
      const column = event.target.closest && event.target.closest(".column[data-status]");
      if (!column || !dragged) return;
      event.preventDefault();
      column.classList.remove("drop");
      // A live update may have re-rendered the board (and the flash area) while the card was dragged: act on
      // the card and the flash area on the page now, at the version it shows now.
      const card = document.getElementById(dragged.id) || dragged; dragged = null;
      const flash = document.getElementById("flash");
      if (column.contains(card) || !card.isConnected || !flash) return;
      htmx.ajax("POST", card.dataset.statusUrl, {
        source: card, target: flash, swap: "outerHTML",
        values: { status: column.dataset.status, version: card.dataset.version },
      }).catch(() => {});  // a request that failed says so through htmx's error events (sayNotSent)
    });
  }

  // --- actions: a plain form asks first (data-confirm, as hx-confirm does for htmx ones); a button says what is
  // under way (data-busy) until the answer comes; an action that never reached the server says so ----------------
  function confirmPlainForms() {
    document.addEventListener("submit", (event) => {
      const form = event.target;
      if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  function busyButton(event) {
    const source = event.detail.elt;
    const button = source && (source.matches("button[data-busy]") ? source : source.querySelector && source.querySelector("button[data-busy]"));
    return button || null;
  }
  function showBusy(event) {
    const button = busyButton(event);
    if (!button || button.dataset.idle) return;
    button.dataset.idle = button.textContent;
    button.textContent = button.dataset.busy;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
  }
  function endBusy(event) {
    const button = busyButton(event);
    if (!button || !button.dataset.idle) return;
    button.textContent = button.dataset.idle;
    delete button.dataset.idle;
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
  function sayNotSent(event) {
    endBusy(event);
    const flash = document.getElementById("flash");
    if (!flash) return;
    const p = document.createElement("p");
    p.className = "msg msg-error not-sent";
    p.setAttribute("role", "alert");
    p.textContent = "✕ The action could not be sent: Chorus's server did not answer (is it running?). Try again once it is back.";
    flash.replaceChildren(p);
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (window.htmx) {
      // 4xx answers carry a message for the flash area; swap them like successes, but as errors.
      htmx.config.responseHandling = [
        { code: "204", swap: false },
        { code: "[23]..", swap: true },
        { code: "4..", swap: true, error: true },
        { code: "...", swap: false, error: true },
      ];
      htmx.config.wsReconnectDelay = (retry) => Math.min(250 * 2 ** retry, 5000);
    }
    setUpNotifications();
    confirmPlainForms();
    setUpDocument();
    setUpForms();
    setUpBoard();
    pinScreens();
    fadeFlash();
    lookAtWaiting();
    tickAges();
    setInterval(tickAges, 1000);
    if (!document.body.hasAttribute("ws-connect")) setLive("static", "");

    const body = document.body;
    body.addEventListener("htmx:wsConnecting", () => setLive("connecting", "connecting…"));
    body.addEventListener("htmx:wsOpen", () => setLive("live", "live"));
    body.addEventListener("htmx:wsClose", () => setLive("offline", "reconnecting…"));
    body.addEventListener("htmx:wsError", () => setLive("offline", "reconnecting…"));
    body.addEventListener("htmx:wsBeforeMessage", rememberOpen);
    body.addEventListener("htmx:wsAfterMessage", () => {
      restoreOpen();
      pinScreens();
      lookAtWaiting();
      tickAges();
      body.dataset.lastUpdate = String(Date.now());
    });

    body.addEventListener("htmx:afterSwap", fadeFlash);
    body.addEventListener("htmx:beforeRequest", showBusy);
    body.addEventListener("htmx:afterRequest", endBusy);
    body.addEventListener("htmx:sendError", sayNotSent);
    body.addEventListener("htmx:timeout", sayNotSent);
    // An error that is not one of our flash fragments (read-only mode, a lost login, a crash) still says what
    // happened, in the flash area, instead of replacing it with bare text or failing silently.
    body.addEventListener("htmx:beforeSwap", (event) => {
      // The flash area the request aimed at may have been replaced meanwhile (another action's answer came
      // first): the answer goes to the one on the page now, never beside it.
      const aimed = event.detail.target;
      if (aimed && !aimed.isConnected && aimed.id && document.getElementById(aimed.id)) {
        event.detail.target = document.getElementById(aimed.id);
      }
      const xhr = event.detail.xhr;
      // A flash answer replaces the flash area whole, even when its form was re-rendered by a live update while
      // the request ran: htmx reads the swap style from the (now detached) form, which inherits nothing, and would
      // nest the answer inside the area instead.
      const flashAnswer = /id="flash"/.test((xhr && xhr.responseText) || "");
      if (flashAnswer && event.detail.target && event.detail.target.id === "flash") event.detail.swapOverride = "outerHTML";
      if (!xhr || xhr.status < 400 || flashAnswer) return;
      const text = (xhr.status === 401 ? "Not logged in any more: open the login URL again." : xhr.responseText || "")
        .replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim().slice(0, 300) || `The server answered ${xhr.status}.`;
      const p = document.createElement("p");
      p.className = "msg msg-error"; p.setAttribute("role", "alert"); p.textContent = `✕ ${text}`;
      event.detail.shouldSwap = true;
      event.detail.isError = true;
      event.detail.target = document.getElementById("flash") || event.detail.target;
      event.detail.swapOverride = "innerHTML";
      event.detail.serverResponse = p.outerHTML;
    });

    document.addEventListener("keydown", (event) => {
      const el = event.target;
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && el.matches && el.matches("[data-submit-on-ctrl-enter]")) {
        event.preventDefault();
        el.form.requestSubmit();
      }
    });
    // a review's diff: a line's number fills the comment form with its file and line
    document.addEventListener("click", (event) => {
      const line = event.target.closest && event.target.closest(".line-comment");
      const form = line && document.querySelector("#review form.review-comment");
      if (!form) return;
      form.elements.path.value = line.dataset.path;
      form.elements.line.value = line.dataset.line;
      form.elements.text.focus();
    });
    document.addEventListener("click", (event) => {
      const button = event.target.closest("[data-copy]");
      if (!button) return;
      const source = document.querySelector(button.dataset.copy);
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.textContent.trim()).then(() => { button.textContent = "Copied"; });
      }
    });
  });
})();
