// Class distribution per office on the ABC list, stacked bars of A, B and C.
(function () {
  "use strict";
  const canvas = document.getElementById("abc-chart");
  const data = JSON.parse(document.getElementById("abc-chart-data").textContent);
  if (!canvas || !window.Chart) return;
  const colours = { A: "#198754", B: "#0d6efd", C: "#adb5bd" };
  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: ["A", "B", "C"].map((c) => ({
        label: c,
        data: data.series[c],
        backgroundColor: colours[c],
        maxBarThickness: 48,
      })),
    },
    options: { responsive: true, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
  });
})();
