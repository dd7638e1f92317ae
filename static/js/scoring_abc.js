// The ABC list: one override dialog for every row, filled from the row's button (a row not
// evaluated has no class to pre-select: the choice starts empty), coming back to that row after
// the save; the class distribution chart.
(function () {
  "use strict";
  const dialog = document.getElementById("grade-override");
  if (dialog) {
    dialog.addEventListener("show.bs.modal", (event) => {
      const button = event.relatedTarget;
      const form = document.getElementById("grade-override-form");
      form.action = form.dataset.actionTemplate.replace("/0/", `/${button.dataset.grade}/`);
      document.getElementById("grade-override-label").textContent = button.dataset.label;
      document.getElementById("grade-override-class").value = button.dataset.class;
      document.getElementById("grade-override-reason").value = button.dataset.reason;
      // After saving, the page comes back at this dealer's row (its card on a phone), message there.
      const next = form.elements.next;
      next.dataset.base = next.dataset.base || next.value.split("#")[0];
      const row = button.closest("tr");
      next.value = row && row.id ? `${next.dataset.base}#${row.id}` : next.dataset.base;
    });
  }
})();

// Class distribution per office, stacked bars of A, B and C.
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
    options: {
      responsive: true,
      maintainAspectRatio: false,
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
      plugins: {
        tooltip: {
          callbacks: {
            // "A: 12 (30.0%)": the count and its share of the office's dealers.
            label: (item) => {
              const total = ["A", "B", "C"].reduce((sum, c) => sum + data.series[c][item.dataIndex], 0);
              const share = total ? ((100 * item.raw) / total).toFixed(1) : "0.0";
              return `${item.dataset.label}: ${item.raw} (${share}%)`;
            },
          },
        },
      },
    },
  });
})();
