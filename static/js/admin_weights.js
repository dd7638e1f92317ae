// The weight scheme in the admin: the running total of the weights, a new scheme's kind switching
// the copied weights, and the button that tries the weights as typed in the what-if (DESIGN.md §5a).
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }
  ready(function () {
    const summary = document.getElementById("weights-summary");
    const form = summary && summary.closest("form");
    if (!form) return;
    const codes = JSON.parse(document.getElementById("indicator-codes").textContent);
    const totalCell = document.getElementById("weights-total");
    let touched = false;

    function rows() {
      return Array.from(form.querySelectorAll('input[name^="weights-"][name$="-weight"]'))
        .filter((input) => !input.name.includes("__prefix__"))
        .map((input) => {
          const prefix = input.name.slice(0, -"-weight".length);
          const deleted = form.querySelector(`input[name="${prefix}-DELETE"]`);
          const indicator = form.querySelector(`[name="${prefix}-indicator"]`);
          return { weight: input.value, indicator: indicator ? indicator.value : "", deleted: deleted && deleted.checked };
        })
        .filter((row) => !row.deleted && row.indicator);
    }

    function refresh() {
      let hundredths = 0;
      rows().forEach((row) => {
        const value = parseFloat(row.weight);
        if (!Number.isNaN(value)) hundredths += Math.round(value * 100);
      });
      totalCell.textContent = (hundredths / 100).toFixed(2);
      totalCell.style.color = hundredths === 10000 ? "green" : "#ba2121";
    }

    form.addEventListener("input", (event) => {
      if (event.target.name && event.target.name.startsWith("weights-")) touched = true;
      refresh();
    });
    form.addEventListener("change", refresh);
    refresh();

    // On a new scheme, choosing the other kind copies that kind's scheme in force, unless weights were typed.
    const kind = document.getElementById("id_kind");
    if (kind && summary.dataset.adding) {
      kind.addEventListener("change", () => {
        if (!touched) window.location.search = "?kind=" + encodeURIComponent(kind.value);
      });
    }

    const button = document.getElementById("weights-whatif");
    if (button) {
      button.addEventListener("click", () => {
        const params = new URLSearchParams({ quarter: summary.dataset.quarter, try: "1" });
        const chosen = kind ? kind.value : "";
        rows().forEach((row) => {
          if (codes[row.indicator]) params.set(`w-${chosen}-${codes[row.indicator]}`, row.weight || "0");
        });
        window.open(summary.dataset.whatifUrl + "?" + params.toString(), "_blank");
      });
    }
  });
})();
