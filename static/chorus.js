// Live updates: one websocket per page, subscribed to the topics the page names in data-live-topics.
// Each event (and each snapshot after a reconnect) fires `chorus:live` on <body>; htmx elements listen with
// hx-trigger="chorus:live from:body" and re-fetch their partial, so pushes and page loads render alike.
(function () {
  "use strict";
  let socket = null;
  let position = null;
  let retry = 500;
  let pending = null;

  function topics() {
    const found = new Set();
    document.querySelectorAll("[data-live-topics]").forEach((el) => {
      el.dataset.liveTopics.split(/\s+/).filter(Boolean).forEach((t) => found.add(t));
    });
    return [...found];
  }

  function setState(state, text) {
    const el = document.getElementById("live-status");
    if (el) { el.dataset.state = state; el.textContent = text; }
  }

  function fire(detail) {
    // Coalesce bursts: one refresh per animation frame is enough for a person to see.
    if (pending) { pending.events.push(detail); return; }
    pending = { events: [detail] };
    requestAnimationFrame(() => {
      const batch = pending; pending = null;
      document.body.dispatchEvent(new CustomEvent("chorus:live", { detail: batch }));
    });
  }

  function connect() {
    const wanted = topics();
    if (!wanted.length) { setState("idle", "static"); return; }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/live/`);
    socket.onopen = () => {
      retry = 500;
      socket.send(JSON.stringify({ subscribe: wanted, after: position }));
    };
    socket.onmessage = (msg) => {
      const data = JSON.parse(msg.data);
      if (data.type === "snapshot") {
        const resync = data.resync && position !== null;
        position = data.position;
        setState("live", "live");
        document.body.dataset.livePosition = String(position);
        if (resync) fire({ type: "resync", position });
      } else if (data.type === "event") {
        if (position !== null && data.position <= position) return;
        position = data.position;
        document.body.dataset.livePosition = String(position);
        fire(data);
      }
    };
    socket.onclose = () => {
      setState("offline", "reconnecting…");
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }

  document.addEventListener("DOMContentLoaded", connect);
})();
