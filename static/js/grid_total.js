// The score grid's running total of a row: total_score of scoring/rules.py, worked in
// hundredths as integers so that rounding matches Decimal ROUND_HALF_UP (each score rounded
// first, total = Σ(w·s)/Σ(w) rounded half-up; a missing score: "manual" leaves the total open,
// "zero" counts 0, "exclude" drops the indicator). The weights are those the server sends with
// each cell. scoring/tests/test_grid_total.py runs this file in Node against the rules.
(function (root) {
  "use strict";

  // Full-width digits, points and signs as a Chinese input method types them, in ASCII.
  function asciiNumber(text) {
    return text
      .replace(/[\uFF10-\uFF19]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) - 0xfee0))
      .replace(/[\uFF0E\u3002]/g, ".")
      .replace(/[\uFF0D\u2212]/g, "-")
      .replace(/\u3000/g, " ");
  }

  // A score 0–100 with at most two decimals, in hundredths; null for anything else.
  // A sign or any other character makes the text no score: "-5" is an error, never 5.
  function hundredths(text) {
    const match = /^\s*(\d{1,3})(?:\.(\d{0,2}))?\s*$/.exec(asciiNumber(text));
    if (!match) return null;
    const value = parseInt(match[1], 10) * 100 + parseInt((match[2] || "").padEnd(2, "0"), 10);
    return value > 10000 ? null : value;
  }

  // cells: [{weight: "20", text: "85.5", rule: "manual" | "zero" | "exclude"}] →
  // the total as text ("85.50"), "—" while it is open, "?" when a cell holds no score.
  function rowTotal(cells) {
    let weighted = 0;
    let weights = 0;
    for (const cell of cells) {
      const weight = Math.round(parseFloat(cell.weight) * 100);
      const text = cell.text || "";
      let score = text.trim() === "" ? null : hundredths(text);
      if (text.trim() !== "" && score === null) return "?";
      if (score === null) {
        if (cell.rule === "zero") score = 0;
        else if (cell.rule === "exclude") continue;
        else return "—";
      }
      weighted += weight * score;
      weights += weight;
    }
    if (weights === 0) return "—";
    const total = Math.floor((weighted * 2 + weights) / (weights * 2)); // half-up, in hundredths
    return (total / 100).toFixed(2);
  }

  const api = { asciiNumber, hundredths, rowTotal };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.evalsysGrid = api;
})(this);
