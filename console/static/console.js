// agentplane review console: live queue (server-sent events), relative times, session-end notice.
// No framework and no build step; the pages work without this file (reload for fresh data).
"use strict";

(function () {
  const body = document.body;
  const page = body.dataset.page || "";
  const status = document.getElementById("live-status");

  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min";
    if (s < 86400) return Math.floor(s / 3600) + " h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + " min";
    return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
  }

  function refreshTimes(root) {
    const now = Date.now();
    root.querySelectorAll("time[data-age]").forEach(function (el) {
      el.textContent = duration((now - Date.parse(el.dateTime)) / 1000);
    });
    root.querySelectorAll("time[data-until]").forEach(function (el) {
      const left = (Date.parse(el.dateTime) - now) / 1000;
      el.textContent = left > 0 ? duration(left) : "expired";
    });
  }

  function sessionEnded() {
    const banner = document.getElementById("session-banner");
    if (banner) banner.hidden = false;
  }

  async function reloadRows() {
    const response = await fetch("/queue/rows" + window.location.search, {
      credentials: "same-origin",
      headers: { "Accept": "text/html" },
    });
    if (response.status === 401) { sessionEnded(); return; }
    if (!response.ok) return;
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    const target = document.getElementById("queue-body");
    const before = document.getElementById("queue-count");
    target.replaceChildren(...Array.from(doc.body.childNodes));
    refreshTimes(target);
    const after = document.getElementById("queue-count");
    if (status && after && (!before || before.textContent !== after.textContent)) {
      status.textContent = "Queue updated: " + after.textContent;
    }
  }

  function listen() {
    if (!window.EventSource || (page !== "queue" && page !== "review")) return;
    const source = new EventSource("/events");
    source.addEventListener("queue", function (event) {
      let snapshot = null;
      try { snapshot = JSON.parse(event.data); } catch (e) { return; }
      if (page === "queue") {
        const count = document.getElementById("queue-count");
        if (!count || count.dataset.version !== snapshot.version) reloadRows();
      } else {
        const id = body.dataset.reviewId;
        if (id && snapshot.review_ids.indexOf(id) < 0) {
          const note = document.getElementById("resolved-elsewhere");
          if (note) note.hidden = false;
        }
      }
    });
    source.addEventListener("session", function () { source.close(); sessionEnded(); });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        fetch("/queue/rows", { credentials: "same-origin" }).then(function (r) {
          if (r.status === 401) sessionEnded();
        });
      }
    });
  }

  refreshTimes(document);
  window.setInterval(function () { refreshTimes(document); }, 30000);
  listen();
})();
