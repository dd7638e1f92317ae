// Insight pages (DESIGN.md §5a): the what-if's running totals and chart, the calibration and
// class-movement charts, and quarter pickers that submit on change. No inline scripts: the data
// comes from json_script elements.
(function () {
  "use strict";
  const colours = { A: "#198754", B: "#0d6efd", C: "#adb5bd" };
  const palette = ["#0d6efd", "#dc3545", "#198754", "#fd7e14", "#6f42c1", "#20c997", "#d63384", "#6c757d", "#0dcaf0", "#ffc107"];

  function data(id) {
    const element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });

  // Running total of each kind's draft weights.
  function refreshTotals() {
    document.querySelectorAll("[data-total-for]").forEach((cell) => {
      const kind = cell.dataset.totalFor;
      let hundredths = 0;
      document.querySelectorAll(`input.weight[data-kind="${kind}"]`).forEach((input) => {
        const value = parseFloat(input.value);
        if (!Number.isNaN(value)) hundredths += Math.round(value * 100);
      });
      cell.textContent = (hundredths / 100).toFixed(2);
      cell.classList.toggle("text-danger", hundredths !== 10000);
      cell.classList.toggle("text-success", hundredths === 10000);
    });
  }
  document.querySelectorAll("input.weight").forEach((input) => input.addEventListener("input", refreshTotals));
  refreshTotals();

  if (!window.Chart) return;

  const whatIf = data("whatif-chart-data");
  if (whatIf && document.getElementById("whatif-chart")) {
    new window.Chart(document.getElementById("whatif-chart"), {
      type: "bar",
      data: {
        labels: whatIf.labels,
        datasets: ["A", "B", "C"].map((c) => ({ label: c, data: whatIf.series[c], backgroundColor: colours[c] })),
      },
      options: { maintainAspectRatio: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
    });
  }

  const calibration = data("calibration-chart-data");
  if (calibration && document.getElementById("calibration-chart")) {
    new window.Chart(document.getElementById("calibration-chart"), {
      type: "line",
      data: {
        labels: calibration.labels,
        datasets: calibration.offices.map((office, i) => ({
          label: office.label,
          data: office.deviation,
          borderColor: palette[i % palette.length],
          backgroundColor: palette[i % palette.length],
          spanGaps: true,
        })),
      },
      options: {
        maintainAspectRatio: false,
        // a legend of a company's every office would cover the chart: beyond a dozen, the
        // tooltip names the office under the pointer (the table below lists them all)
        plugins: { legend: { display: calibration.offices.length <= 12 } },
        interaction: { mode: "nearest", intersect: false },
        scales: { y: { title: { display: true, text: "Δ" } } },
      },
    });
  }

  const movements = data("movement-chart-data");
  const canvas = document.getElementById("movement-chart");
  if (movements && canvas && movements.offices.length) {
    const chart = new window.Chart(canvas, {
      type: "bar",
      data: { labels: movements.labels, datasets: [] },
      options: { maintainAspectRatio: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
    });
    const show = (index) => {
      const office = movements.offices[index];
      chart.data.datasets = ["A", "B", "C"].map((c) => ({ label: c, data: office.series[c], backgroundColor: colours[c] }));
      chart.update();
    };
    const picker = document.getElementById("movement-office");
    if (picker) picker.addEventListener("change", () => show(Number(picker.value)));
    show(0);
  }
})();
