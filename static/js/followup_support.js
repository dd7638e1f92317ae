// Support value by final class per office on the support report, stacked bars.
(function () {
  "use strict";
  const canvas = document.getElementById("support-chart");
  const data = JSON.parse(document.getElementById("support-chart-data").textContent);
  if (!canvas || !window.Chart) return;
  const colours = { A: "#198754", B: "#0d6efd", C: "#dc3545", "-": "#adb5bd" };
  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: Object.keys(colours).map((c) => ({
        label: c === "-" ? canvas.dataset.noClass || c : c,
        data: data.series[c],
        backgroundColor: colours[c],
        maxBarThickness: 48,
      })),
    },
    options: { responsive: true, maintainAspectRatio: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
  });
})();
