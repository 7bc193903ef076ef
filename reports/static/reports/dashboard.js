// Managers' dashboard: keeps the page live (the charts are SVG drawn on the server, reports/charts.py,
// so they come with the figures). When a ticket or an alert
// changes (the notifications stream dispatches hub:ticket / hub:alert on document) — and once a
// minute, because a manager's stream only carries their own centre's tickets — it re-fetches this
// same URL and swaps in the server-rendered figures: one rendering path, filters kept in the URL.
"use strict";

(function () {
  const REFRESH_MS = 60000;

  let busy = false;
  async function refresh() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const response = await fetch(window.location.href, {credentials: "same-origin"});
      if (!response.ok) return;
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = doc.getElementById("dashboard-figures");
      const current = document.getElementById("dashboard-figures");
      if (fresh && current) {
        current.replaceWith(document.importNode(fresh, true));
      }
    } catch (error) {
      // Offline for a moment: the next event or the timer tries again.
    } finally {
      busy = false;
    }
  }

  let pending = null;
  function soon() {
    clearTimeout(pending);
    pending = setTimeout(refresh, 1000);  // a burst of changes costs one re-fetch
  }

  document.addEventListener("hub:ticket", soon);
  document.addEventListener("hub:alert", soon);
  setInterval(refresh, REFRESH_MS);
})();
