// Draws the analytics charts from the JSON the page embeds with json_script (no inline script).
(function () {
  "use strict";
  var source = document.getElementById("analytics-data");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var accent = "#3056d3";
  // The boxes around the canvases set the height (site.css), so both charts line up.
  Chart.defaults.maintainAspectRatio = false;

  new Chart(document.getElementById("chart-weekly"), {
    type: "bar",
    data: {
      labels: data.weekly.labels,
      datasets: [{ label: "Projects created", data: data.weekly.counts, backgroundColor: accent }]
    },
    options: {
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
    }
  });

  new Chart(document.getElementById("chart-status"), {
    type: "doughnut",
    data: {
      labels: data.by_status.labels,
      datasets: [{ data: data.by_status.counts, backgroundColor: [accent, "#f79009", "#12b76a"] }]
    }
  });
})();
