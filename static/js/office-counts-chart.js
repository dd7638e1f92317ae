/* The dealer counts panel: dealers per office and kind, <canvas data-office-counts="ID of the JSON"
   data-names="exclusive|logistics">. */
(function () {
  if (typeof Chart === "undefined") { return; }
  document.querySelectorAll("canvas[data-office-counts]").forEach(function (canvas) {
    var offices = JSON.parse(document.getElementById(canvas.dataset.officeCounts).textContent);
    var names = canvas.dataset.names.split("|");
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: offices.map(function (o) { return o.name; }),
        datasets: [
          {label: names[0], data: offices.map(function (o) { return o.exclusive; }), backgroundColor: "#0d6efd"},
          {label: names[1], data: offices.map(function (o) { return o.logistics; }), backgroundColor: "#20c997"}
        ]
      },
      options: {maintainAspectRatio: false, scales: {x: {stacked: true}, y: {stacked: true, beginAtZero: true, ticks: {precision: 0}}}}
    });
  });
})();
