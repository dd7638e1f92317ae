/* The customer file's 12-month chart: <canvas data-trend="ID of the JSON" data-names="target|actual|average">. */
(function () {
  if (typeof Chart === "undefined") { return; }
  document.querySelectorAll("canvas[data-trend]").forEach(function (canvas) {
    var data = JSON.parse(document.getElementById(canvas.dataset.trend).textContent);
    var names = canvas.dataset.names.split("|");
    new Chart(canvas, {
      data: {
        labels: data.labels,
        datasets: [
          {type: "bar", label: names[0], data: data.target, backgroundColor: "rgba(13,110,253,0.35)"},
          {type: "line", label: names[1], data: data.actual, borderColor: "#198754", spanGaps: false},
          {type: "line", label: names[2], data: data.average, borderColor: "#fd7e14", borderDash: [4, 4]}
        ]
      },
      options: {maintainAspectRatio: false, animation: false}
    });
  });
})();
