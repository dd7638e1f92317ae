"""The embedded default, SQLite (README): a whole office of 1,000 dealers opens, grades, imports
scores and publishes in batches SQLite accepts ("Expression tree is too large" on main)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_an_office_of_1000_dealers_opens_and_grades_on_sqlite(tmp_path):
    # given an empty SQLite database file, outside the suite's own database
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'company.sqlite3'}",
        "DEBUG": "true",
        "REDIS_URL": "",
    }
    # when the script builds an office of 1,000 dealers and runs the quarter on it
    done = subprocess.run(
        [sys.executable, "-m", "scoring.tests.sqlite_company", "--dealers", "1000"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    # then every step succeeded with the counts it checked
    assert done.returncode == 0, done.stderr[-3000:]
    assert "open: 1000 sheets" in done.stdout
    assert "grade: 1000 dealers evaluated" in done.stdout
    assert "publish:" in done.stdout
