// The score grid: Enter moves like Tab, only numbers are typed, and each row shows its
// running total (static/js/grid_total.js, from the weights the server sends with each cell).
// The server computes the grade; this is a preview.
(function () {
  "use strict";
  const form = document.getElementById("grid-form");
  if (!form) return;
  const { asciiNumber, hundredths } = window.evalsysGrid;

  function rowTotal(row) {
    const cells = Array.from(row.querySelectorAll("td[data-weight]"), (cell) => {
      const input = cell.querySelector("input.score-input");
      const readonly = cell.querySelector(".score-readonly");
      const text = input ? input.value : (readonly ? readonly.dataset.value : cell.dataset.value) || "";
      return { weight: cell.dataset.weight, text, rule: cell.dataset.rule };
    });
    return window.evalsysGrid.rowTotal(cells);
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
