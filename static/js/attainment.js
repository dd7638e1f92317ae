// The attainment page's chart: how many of the listed dealers fall in each attainment band.
(function () {
  "use strict";
  const canvas = document.getElementById("attainment-chart");
  if (!canvas || !window.Chart) return;
  const bands = JSON.parse(document.getElementById("attainment-bands").textContent);
  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: bands.map((band) => band[0]),
      datasets: [{ data: bands.map((band) => band[1]), backgroundColor: ["#dc3545", "#ffc107", "#198754", "#0d6efd"] }],
    },
    options: {
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
})();
