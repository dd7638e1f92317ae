// The score grid: Enter moves like Tab, only numbers are typed, and each row shows
// its running total by the rule of DESIGN.md §3.2 (each score rounded half-up to two
// places, total = Σ(w·s)/Σ(w); missing: "manual" leaves it open, "zero" counts 0,
// "exclude" drops the indicator). The server computes the grade; this is a preview.
(function () {
  "use strict";
  const form = document.getElementById("grid-form");
  if (!form) return;

  // Full-width digits, points and signs as a Chinese input method types them, in ASCII.
  function asciiNumber(text) {
    return text
      .replace(/[\uFF10-\uFF19]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) - 0xfee0))
      .replace(/[\uFF0E\u3002]/g, ".")
      .replace(/[\uFF0D\u2212]/g, "-")
      .replace(/\u3000/g, " ");
  }

  // Work in hundredths as integers so that rounding matches Decimal ROUND_HALF_UP.
  // A sign or any other character makes the text no score: "-5" is an error, never 5.
  function hundredths(text) {
    const match = /^\s*(\d{1,3})(?:\.(\d{0,2}))?\s*$/.exec(asciiNumber(text));
    if (!match) return null;
    const value = parseInt(match[1], 10) * 100 + parseInt((match[2] || "").padEnd(2, "0"), 10);
    return value > 10000 ? null : value;
  }

  function rowTotal(row) {
    let weighted = 0;
    let weights = 0;
    for (const cell of row.querySelectorAll("td[data-weight]")) {
      const weight = Math.round(parseFloat(cell.dataset.weight) * 100);
      const input = cell.querySelector("input.score-input");
      const readonly = cell.querySelector(".score-readonly");
      const text = input ? input.value : (readonly ? readonly.dataset.value : cell.dataset.value) || "";
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
    const input = event.target;
    if (!input.matches("input.score-input")) return;
    const ascii = asciiNumber(input.value);
    if (ascii !== input.value) input.value = ascii;
    input.classList.toggle("is-invalid", input.value.trim() !== "" && hundredths(input.value) === null);
    refresh(input.closest("tr"));
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

  // Overrides are saved with fetch: the page stays, and so do the scores typed in other cells.
  const modal = document.getElementById("override");
  if (modal) {
    const overrideForm = document.getElementById("override-form");
    const errorBox = document.getElementById("override-error");
    let opener = null;

    function fill(value, reason) {
      document.getElementById("override-value").value = value;
      document.getElementById("override-reason").value = reason;
      document.getElementById("override-shown-value").value = value;
      document.getElementById("override-shown-reason").value = reason;
    }

    modal.addEventListener("show.bs.modal", (event) => {
      opener = event.relatedTarget;
      overrideForm.action = overrideForm.dataset.actionTemplate.replace("/0/", `/${opener.dataset.score}/`);
      document.getElementById("override-label").textContent = opener.dataset.label;
      errorBox.classList.add("d-none");
      fill(opener.dataset.value, opener.dataset.reason);
    });

    overrideForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (overrideForm.getAttribute("aria-busy") === "true") return;
      window.evalsys.busy(overrideForm);
      try {
        const response = await fetch(overrideForm.action, {
          method: "POST",
          body: new FormData(overrideForm),
          headers: { Accept: "application/json" },
          credentials: "same-origin",
        });
        const data = await response.json();
        if (!response.ok) {
          errorBox.textContent = data.theirs_text ? `${data.error} ${data.theirs_text}` : data.error;
          errorBox.classList.remove("d-none");
          if (data.theirs) {
            // Saving again now overwrites theirs knowingly.
            document.getElementById("override-shown-value").value = data.theirs.value;
            document.getElementById("override-shown-reason").value = data.theirs.reason;
            opener.dataset.value = data.theirs.value;
            opener.dataset.reason = data.theirs.reason;
          }
          return;
        }
        opener.dataset.value = data.value;
        opener.dataset.reason = data.reason;
        const cell = opener.closest("td");
        const shown = cell.querySelector(".computed-value");
        shown.textContent = data.effective === "" ? "—" : data.effective;
        shown.title = data.reason;
        shown.classList.toggle("fw-bold", data.value !== "");
        shown.classList.toggle("text-primary", data.value !== "");
        cell.dataset.value = data.effective;
        refresh(cell.closest("tr"));
        window.bootstrap.Modal.getInstance(modal).hide();
      } catch (error) {
        errorBox.textContent = String(error);
        errorBox.classList.remove("d-none");
      } finally {
        window.evalsys.idle(overrideForm);
      }
    });
  }
})();
