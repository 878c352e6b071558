// The session page's interactive terminal: xterm.js on /ws/terminal/ (sessions_app/consumers.py). The pane's output
// streams in as bytes; keystrokes go out as text and reach the pane byte for byte. The terminal always has the
// pane's size; a viewer who may type makes the pane fit this window (and follows its resizes). Open or closed is
// remembered in this browser; a closed terminal keeps no socket.
(function () {
  "use strict";
  const REMEMBER = "chorus.terminal";

  function start(details) {
    const host = details.querySelector("[data-terminal-host]");
    const status = details.querySelector("[data-terminal-status]");
    const name = details.dataset.session;
    let term = null, fit = null, socket = null, writable = false, size = null, retry = 0, timer = null;

    function say(state, text) {
      details.dataset.state = state;
      status.textContent = text;
    }

    function describe() {
      const shape = size ? ` · ${size[0]}×${size[1]}` : "";
      say("live", (writable ? "live · typing goes to the pane" : "read-only") + shape);
    }

    function make() {
      term = new Terminal({
        fontFamily: getComputedStyle(document.body).getPropertyValue("--mono") || "monospace",
        fontSize: 13, scrollback: 2000, cursorBlink: true, disableStdin: true,
        theme: { background: "#14171c", foreground: "#d7dce4" },
      });
      fit = new FitAddon.FitAddon();
      term.loadAddon(fit);
      term.open(host);
      term.onData((data) => {
        if (writable && socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ input: data }));
      });
      window.chorusTerminal = term;
    }

    function follow() {
      // The size this window has room for; the pane is asked to take it (only by a viewer who may type).
      if (!writable || !socket || socket.readyState !== WebSocket.OPEN) return;
      const wanted = fit.proposeDimensions();
      if (wanted && wanted.cols && wanted.rows && (!size || wanted.cols !== size[0] || wanted.rows !== size[1])) {
        socket.send(JSON.stringify({ resize: [Math.max(20, wanted.cols), Math.max(5, wanted.rows)] }));
      }
    }

    function connect() {
      if (!term) make();
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      socket = new WebSocket(`${scheme}://${location.host}/ws/terminal/?name=${encodeURIComponent(name)}`);
      socket.binaryType = "arraybuffer";
      say("connecting", "connecting…");
      let ended = false;
      socket.onmessage = (message) => {
        if (typeof message.data !== "string") {
          term.write(new Uint8Array(message.data));
          return;
        }
        const news = JSON.parse(message.data);
        if (news.type === "ready") {
          retry = 0;
          delete details.dataset.fitted;  // a new pane (after a restart) is fitted again
          writable = news.writable;
          details.dataset.writable = String(writable);
          term.options.disableStdin = !writable;
          describe();
        } else if (news.type === "size") {
          size = [news.cols, news.rows];
          term.reset();
          term.resize(news.cols, news.rows);
          describe();
          if (!details.dataset.fitted) { details.dataset.fitted = "1"; follow(); }
        } else if (news.type === "ended") {
          ended = !news.again;
          say("ended", `ended: ${news.reason}`);
        } else if (news.type === "error") {
          status.textContent = news.message;
        }
      };
      socket.onclose = () => {
        socket = null;
        if (ended || !details.open) return;
        retry = Math.min(retry + 1, 5);
        if (details.dataset.state !== "ended") say("connecting", "reconnecting…");
        timer = setTimeout(connect, 1000 * retry);
      };
    }

    function disconnect() {
      clearTimeout(timer);
      if (socket) { const s = socket; socket = null; s.close(); }
      delete details.dataset.fitted;
      say("closed", "");
    }

    details.addEventListener("toggle", () => {
      try { localStorage.setItem(REMEMBER, details.open ? "open" : "closed"); } catch (e) { /* private mode */ }
      if (details.open) { connect(); term.focus(); } else disconnect();
    });
    let pending = null;
    window.addEventListener("resize", () => { clearTimeout(pending); pending = setTimeout(follow, 200); });
    let remembered = null;
    try { remembered = localStorage.getItem(REMEMBER); } catch (e) { /* private mode */ }
    if (remembered === "open") details.open = true;
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-terminal]").forEach(start);
  });
})();
