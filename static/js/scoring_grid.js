// The score grid: Enter moves like Tab, only numbers are typed, and each row shows
// its running total by the rule of DESIGN.md §3.2 (each score rounded half-up to two
// places, total = Σ(w·s)/Σ(w); missing: "manual" leaves it open, "zero" counts 0,
// "exclude" drops the indicator). The server computes the grade; this is a preview.
(function () {
  "use strict";
  const form = document.getElementById("grid-form");
  if (!form) return;

  // Work in hundredths as integers so that rounding matches Decimal ROUND_HALF_UP.
  function hundredths(text) {
    const match = /^\s*(\d{1,3})(?:\.(\d{0,3}))?\s*$/.exec(text);
    if (!match) return null;
    const decimals = (match[2] || "").padEnd(3, "0");
    const thousandths = parseInt(match[1], 10) * 1000 + parseInt(decimals, 10);
    if (thousandths > 100000) return null;
    return Math.floor((thousandths + 5) / 10);
  }

  function rowTotal(row) {
    let weighted = 0;
    let weights = 0;
    for (const cell of row.querySelectorAll("td[data-weight]")) {
      const weight = Math.round(parseFloat(cell.dataset.weight) * 100);
      const input = cell.querySelector("input.score-input");
      const text = input ? input.value : cell.dataset.value || "";
      let score = text.trim() === "" ? null : hundredths(text);
      if (text.trim() !== "" && score === null) return "?";
      if (score === null) {
        if (cell.dataset.rule === "zero") score = 0;
        else if (cell.dataset.rule === "exclude") continue;
        else return "—";
      }
      weighted += weight * score;
      weights += weight;
    }
    if (weights === 0) return "—";
    const total = Math.floor((weighted * 2 + weights) / (weights * 2)); // half-up, in hundredths
    return (total / 100).toFixed(2);
  }

  function refresh(row) {
    row.querySelector(".row-total").textContent = rowTotal(row);
  }

  form.querySelectorAll("tr[data-sheet]").forEach(refresh);

  form.addEventListener("input", (event) => {
    if (event.target.matches("input.score-input")) {
      event.target.value = event.target.value.replace(/[^0-9.]/g, "");
      refresh(event.target.closest("tr"));
    }
  });

  form.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !event.target.matches("input.score-input")) return;
    event.preventDefault();
    const inputs = Array.from(form.querySelectorAll("input.score-input:not([readonly])")).filter(
      (input) => input.offsetParent !== null,
    );
    const next = inputs[inputs.indexOf(event.target) + 1];
    if (next) {
      next.focus();
      next.select();
    }
  });

  const modal = document.getElementById("override");
  if (modal) {
    modal.addEventListener("show.bs.modal", (event) => {
      const button = event.relatedTarget;
      const overrideForm = document.getElementById("override-form");
      overrideForm.action = overrideForm.dataset.actionTemplate.replace("/0/", `/${button.dataset.score}/`);
      document.getElementById("override-label").textContent = button.dataset.label;
      document.getElementById("override-value").value = button.dataset.value;
      document.getElementById("override-reason").value = button.dataset.reason;
    });
  }
})();
