"""Uploads that cannot hurt the server (issue 11, DESIGN.md §6.2): hostile files are refused
quickly, with a clear message, within 300 MB of memory, on the command line as in the browser."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from evalsys.tests import bombs

# The subprocess reads the test database, which only PostgreSQL shares between processes.
pytestmark = pytest.mark.postgresql

BASE_DIR = Path(__file__).resolve().parents[2]
MEMORY_CEILING_KB = 300 * 1024

# Runs one import command in a fresh interpreter and reports its peak memory (VmHWM).
RUNNER = """
import io, json, sys
import django
django.setup()
from django.core.management import CommandError, call_command
from django.utils import translation
translation.activate("en")
class Head(io.StringIO):
    def write(self, text):
        if self.tell() < 3000:
            super().write(text)
err = Head()
try:
    call_command(sys.argv[1], sys.argv[2], "--dry-run", stdout=io.StringIO(), stderr=err)
    outcome = "ok"
except CommandError as exc:
    outcome = str(exc)
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"outcome": outcome, "stderr": err.getvalue()[:3000], "peak_kb": peak}))
"""


def _database_url():
    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD'] or ''}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def run_import(command, path, **env):
    completed = subprocess.run(
        [sys.executable, "-c", RUNNER, command, str(path)],
        cwd=BASE_DIR,
        env={
            **os.environ,
            "DATABASE_URL": _database_url(),
            "DJANGO_SETTINGS_MODULE": "evalsys.settings",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


BOMBS = {
    "declared A1:XFD1048576, one cell in its last row and column": (
        bombs.declared_whole_sheet,
        "Line 1048576 has a value beyond column 50; a file may have at most 50 columns.",
    ),
    "declared A1:XFD1048576, one row far down": (
        bombs.declared_whole_sheet_far_row,
        "line 1048576: dealer: unknown dealer code SH001",
    ),
    "three million shared strings": (
        bombs.huge_shared_strings,
        "The workbook holds more than 1000000 different texts or 20000000 characters of text.",
    ),
    "one shared string of 150 million characters": (
        bombs.long_shared_string,
        "A text cell is longer than 32767 characters.",
    ),
    "250,000 rows": (
        lambda: bombs.many_rows(250_000),
        "The file has more than 200000 rows; split it into smaller files.",
    ),
    "300 MB unpacked": (bombs.zip_bomb, "The workbook unpacks to more than 200 MB."),
    "five million elements after the rows": (bombs.hyperlink_bomb, "The file has a header but no rows."),
    "a filled cell in column 60": (
        bombs.wide_row,
        "Line 2 has a value beyond column 50; a file may have at most 50 columns.",
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(BOMBS))
def test_a_hostile_workbook_is_refused_with_a_message_within_the_memory_ceiling(tmp_path, name):
    # given: a file of a few hundred KB at most
    build, message = BOMBS[name]
    path = tmp_path / "sales.xlsx"
    path.write_bytes(build())
    assert path.stat().st_size < 400_000
    # when
    report = run_import("import_sales", path)
    # then
    assert report["outcome"] == "1 error; nothing was saved."
    assert message in report["stderr"]
    assert report["peak_kb"] < MEMORY_CEILING_KB, report["peak_kb"]


@pytest.mark.django_db
def test_a_20_mb_csv_of_short_rows_is_refused_at_the_row_limit_within_the_memory_ceiling(tmp_path):
    path = tmp_path / "sales.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("dealer,month,amount\n")
        line = "SH1,2026-01,1\n"
        out.write(line * ((20 * 2**20 - 20) // len(line)))
    assert path.stat().st_size <= 20 * 2**20
    report = run_import("import_sales", path)
    assert report["outcome"] == "1 error; nothing was saved."
    assert "more than 200000 rows" in report["stderr"]
    assert report["peak_kb"] < MEMORY_CEILING_KB, report["peak_kb"]


@pytest.mark.django_db
def test_200000_rows_every_one_wrong_are_all_reported_within_the_memory_ceiling(tmp_path):
    # given: the largest file allowed, and every row refused (the most the importer holds)
    path = tmp_path / "sales.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("经销商编码,月份,销售额（元）\n")
        for n in range(200_000):
            out.write(f"X{n:06d},2026-01,12345.67\n")
    # when
    report = run_import("import_sales", path)
    # then
    assert report["outcome"] == "200000 errors; nothing was saved."
    assert "line 2: dealer: unknown dealer code X000000" in report["stderr"]
    assert report["peak_kb"] < MEMORY_CEILING_KB, report["peak_kb"]


@pytest.mark.django_db
def test_the_row_limit_comes_from_import_max_rows(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("dealer,month,amount\n" + "SH1,2026-01,1\n" * 11, encoding="utf-8")
    report = run_import("import_sales", path, IMPORT_MAX_ROWS="10")
    assert "The file has more than 10 rows; split it into smaller files." in report["stderr"]
