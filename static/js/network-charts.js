/* Charts of the network pages. Each <canvas data-series="a,b" data-kinds="line,bar"> draws the
   named series of the JSON in #chart-data; the labels of the series are in data-names ("|"-separated),
   and data-axes="y,y1" puts a series on the right-hand axis. */
(function () {
  var source = document.getElementById("chart-data");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var colors = ["#0d6efd", "#198754", "#dc3545", "#fd7e14", "#6f42c1", "#20c997"];
  document.querySelectorAll("canvas[data-series]").forEach(function (canvas) {
    var series = canvas.dataset.series.split(",");
    var kinds = (canvas.dataset.kinds || "").split(",");
    var names = (canvas.dataset.names || "").split("|");
    var axes = (canvas.dataset.axes || "").split(",");
    var datasets = series.map(function (key, i) {
      return {
        type: kinds[i] || "line",
        label: names[i] || key,
        data: data[key],
        borderColor: colors[i % colors.length],
        backgroundColor: colors[i % colors.length] + (kinds[i] === "bar" ? "99" : "33"),
        yAxisID: axes[i] || "y",
        spanGaps: true,
        tension: 0.2
      };
    });
    new Chart(canvas, {
      data: { labels: data.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: axes.indexOf("y1") >= 0 ? { y: { position: "left" }, y1: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } } } : {}
      }
    });
  });
})();
