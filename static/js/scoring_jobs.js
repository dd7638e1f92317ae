// Shows the state of the chosen quarter's jobs, polling while a re-grade runs.
(function () {
  "use strict";
  const status = document.getElementById("job-status");
  const quarterInput = document.getElementById("job-quarter");
  if (!status || !quarterInput) return;
  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, (_m, key) => values[key]);
  }
  async function poll() {
    const quarter = quarterInput.value.trim();
    if (!/^\d{4}Q[1-4]$/.test(quarter)) return;
    const response = await fetch(status.dataset.urlTemplate.replace("QUARTER", quarter), {
      headers: { Accept: "application/json" },
    });
    if (!response.ok) return;
    const data = await response.json();
    status.dataset.state = data.status || "";
    const rerun = document.getElementById("job-rerun");
    if (rerun) {
      rerun.classList.toggle("d-none", !data.stalled);
      rerun.elements.quarter.value = quarter;
    }
    if (data.stalled) {
      status.textContent = status.dataset.stalled;
    } else if (data.running) {
      status.textContent = format(status.dataset.running, { done: data.offices_done, total: data.offices_total });
      setTimeout(poll, 1500);
    } else {
      status.textContent = format(status.dataset.idle, {
        rounds: data.rounds,
        approved: data.approved,
        status: data.status_label || status.dataset.none,
      });
      if (data.error) status.textContent += " — " + data.error;
    }
  }
  quarterInput.addEventListener("change", poll);
  poll();
})();
