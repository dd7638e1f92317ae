"""The grid's running total (static/js/grid_total.js, run in Node) agrees with the rules."""

import json
import random
import subprocess
from decimal import Decimal
from pathlib import Path

from scoring.rules import EXCLUDE, MANUAL, ZERO_RULE, Component, total_score

SCRIPT = Path(__file__).resolve().parents[2] / "static" / "js" / "grid_total.js"


def preview(rows):
    """rowTotal of each row, as the browser computes it."""
    program = (
        f"const g = require({json.dumps(str(SCRIPT))});"
        "const rows = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(rows.map(g.rowTotal)));"
    )
    done = subprocess.run(
        ["node", "-e", program], input=json.dumps(rows), capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def by_the_rules(row):
    components = [
        Component(Decimal(c["weight"]), Decimal(c["text"]) if c["text"] else None, c["rule"]) for c in row
    ]
    total = total_score(components)
    return "—" if total is None else str(total)


def test_the_preview_of_a_row_is_the_total_the_rules_give():
    # given 2,000 rows of 2 to 8 indicators: weights as configured (whole and halves), scores
    # with up to two decimals (0.005 steps round half-up), blanks under every missing rule
    rng = random.Random(20261129)
    rows = []
    for _ in range(2000):
        row = []
        for _ in range(rng.randint(2, 8)):
            weight = str(Decimal(rng.randint(1, 80)) / (2 if rng.random() < 0.3 else 1))
            text = "" if rng.random() < 0.15 else str(Decimal(rng.randint(0, 10000)) / 100)
            row.append({"weight": weight, "text": text, "rule": rng.choice([MANUAL, ZERO_RULE, EXCLUDE])})
        rows.append(row)
    # when / then
    assert preview(rows) == [by_the_rules(row) for row in rows]


def test_worked_examples_and_what_is_no_score():
    # 20 × 90 + 80 × 70.55 = 7444 over 100 → 74.44; 70.555 is no score (three decimals)
    rows = [
        [{"weight": "20", "text": "90", "rule": MANUAL}, {"weight": "80", "text": "70.55", "rule": MANUAL}],
        [{"weight": "20", "text": "90", "rule": MANUAL}, {"weight": "80", "text": "70.555", "rule": MANUAL}],
        [{"weight": "1", "text": "60", "rule": MANUAL}, {"weight": "1", "text": "", "rule": EXCLUDE}],
        [{"weight": "1", "text": "60", "rule": MANUAL}, {"weight": "1", "text": "", "rule": ZERO_RULE}],
        [{"weight": "1", "text": "60", "rule": MANUAL}, {"weight": "1", "text": "", "rule": MANUAL}],
        [{"weight": "1", "text": "-5", "rule": MANUAL}],
        [{"weight": "1", "text": "１００", "rule": MANUAL}],  # full-width digits, as an IME types them
        [{"weight": "1", "text": "100.01", "rule": MANUAL}],
    ]
    assert preview(rows) == ["74.44", "?", "60.00", "30.00", "—", "?", "100.00", "?"]
