// Managers' dashboard: draws the charts from the numbers the server put in #dashboard-charts
// (json_script; CSP forbids inline scripts) and keeps the page live. When a ticket or an alert
// changes (the notifications stream dispatches hub:ticket / hub:alert on document) — and once a
// minute, because a manager's stream only carries their own centre's tickets — it re-fetches this
// same URL and swaps in the server-rendered figures: one rendering path, filters kept in the URL.
"use strict";

(function () {
  const PALETTE = ["#0b5394", "#b34700", "#2e7d32", "#8a6100", "#6a1b9a", "#00838f", "#a00000",
    "#5d4037", "#37474f", "#ad1457", "#1565c0", "#558b2f", "#ef6c00", "#4527a0", "#00695c", "#9e9d24"];
  const REFRESH_MS = 60000;
  const charts = new Map();

  function config(spec) {
    const doughnut = spec.chart.type === "doughnut";
    const stacked = Boolean(spec.chart.stacked);
    return {
      type: spec.chart.type,
      data: {
        labels: spec.chart.labels,
        datasets: spec.chart.datasets.map((d, i) => ({
          ...d,
          backgroundColor: doughnut ? spec.chart.labels.map((_, j) => PALETTE[j % PALETTE.length])
            : PALETTE[i % PALETTE.length],
        })),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {legend: {position: "bottom"}},
        scales: doughnut ? {} : {x: {stacked}, y: {stacked, beginAtZero: true}},
      },
    };
  }

  function draw() {
    const source = document.getElementById("dashboard-charts");
    if (!source || typeof window.Chart === "undefined") return;
    for (const chart of charts.values()) chart.destroy();
    charts.clear();
    for (const spec of JSON.parse(source.textContent)) {
      const canvas = document.getElementById(`chart-${spec.key}`);
      if (canvas) charts.set(spec.key, new window.Chart(canvas, config(spec)));
    }
  }

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
        draw();
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
  draw();
})();
