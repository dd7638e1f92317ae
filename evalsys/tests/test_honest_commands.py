"""Honest commands (DESIGN.md §7, issue 11): a user's mistake is one clear message and a
non-zero exit, never a traceback; counts are said in words that agree with them."""

import datetime
import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import translation

from dealers.tests.factories import AgreementFactory, DealerFactory

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def manage(*args, **env):
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "evalsys: Set SECRET_KEY in the environment (or DEBUG=true for local development)"),
        ({"DEBUG": "maybe"}, "evalsys: DEBUG must be true or false, not 'maybe'."),
        ({"DEBUG": "true", "IMPORT_MAX_ROWS": "lots"}, "evalsys: IMPORT_MAX_ROWS must be a whole number"),
    ],
)
def test_missing_or_wrong_settings_are_one_line_not_a_traceback(env, message):
    completed = manage("check", **env)
    assert completed.returncode == 2
    assert completed.stderr.startswith(message)
    assert "Traceback" not in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("entry", [["manage.py"], ["-m", "django"]])
def test_the_migrations_check_needs_no_secret_key_through_any_entry_point(entry):
    # given no SECRET_KEY and no DEBUG, as a CI job checking migrations has them
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    # when the models are compared with the migrations through manage.py or `python -m django`
    completed = subprocess.run(
        [sys.executable, *entry, "makemigrations", "--check", "--dry-run"],
        cwd=BASE_DIR,
        env={**clean, "DJANGO_SETTINGS_MODULE": "evalsys.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then they match (a settings error swallowed by django-admin surfaced as AppRegistryNotReady)
    assert completed.returncode == 0, completed.stderr
    assert "No changes detected" in completed.stdout
    # while a command that serves or signs still refuses
    assert manage("check").returncode == 2


@pytest.mark.django_db
def test_an_export_into_a_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match=r"no such directory"):
        call_command("export_points", "2026-08", "-o", str(tmp_path / "missing" / "points.csv"))


def _closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db
def test_the_reminder_job_with_the_mail_server_down_says_so_and_can_be_run_again(
    settings, office, make_staff
):
    # given: a dealer lacking next month's target, and no mail server listening
    manager = make_staff("bm", "business_manager", office=office)
    dealer = DealerFactory(office=office, business_manager=manager)
    AgreementFactory(dealer=dealer, year=2026)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _closed_port(), 2
    # when / then
    with pytest.raises(CommandError, match=r"The mail server 127\.0\.0\.1:\d+ could not be used"):
        call_command("send_target_reminders", "--date", "2026-09-25", stdout=io.StringIO())
    from dealers.models import ReminderLog

    assert not ReminderLog.objects.exists()  # nothing is marked as sent


@pytest.mark.django_db
def test_seed_demo_refuses_without_debug_unless_forced():
    with pytest.raises(CommandError, match="runs only with DEBUG=true, or with --force"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not get_user_model().objects.filter(username="admin").exists()


@pytest.mark.django_db
def test_add_staff_applies_the_password_validators(office):
    with pytest.raises(CommandError, match="--password: This password is too short"):
        call_command("add_staff", "--username", "li", "--password", "short", "--role", "sales_planning")
    assert not get_user_model().objects.filter(username="li").exists()


@pytest.mark.django_db
def test_add_staff_says_when_it_changes_an_existing_users_password(office):
    call_command("add_staff", "--username", "li", "--password", "first-pass-2026", "--role", "sales_planning")
    out = io.StringIO()
    call_command(
        "add_staff",
        "--username",
        "li",
        "--password",
        "second-pass-2026",
        "--role",
        "sales_planning",
        stdout=out,
    )
    assert "li: password changed" in out.getvalue()
    unchanged = io.StringIO()
    call_command("add_staff", "--username", "li", "--role", "sales_planning", stdout=unchanged)
    assert "password" not in unchanged.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["SH001,2026-08,100"], "s.csv: 1 row imported: 1 new"),
        (["SH001,2026-08,100", "SH002,2026-08,5"], "s.csv: 2 rows imported: 2 new"),
    ],
)
def test_import_output_agrees_with_its_counts(tmp_path, office, lines, expected):
    DealerFactory(code="SH001", office=office)
    DealerFactory(code="SH002", office=office)
    path = tmp_path / "s.csv"
    path.write_text("\n".join(["dealer,month,amount", *lines]) + "\n")
    out = io.StringIO()
    with time_machine.travel(datetime.datetime(2026, 9, 10, 12, 0), tick=False):
        call_command("import_sales", str(path), stdout=out)
    assert out.getvalue().strip() == expected


@pytest.mark.django_db
def test_one_error_is_one_error(tmp_path, office):
    path = tmp_path / "s.csv"
    path.write_text("dealer,month,amount\nXX,2026-08,100\n")
    with pytest.raises(CommandError, match=r"^1 error; nothing was saved\.$"):
        call_command("import_sales", str(path), stdout=io.StringIO(), stderr=io.StringIO())


@pytest.mark.django_db
def test_commands_speak_chinese_by_default(tmp_path, office):
    path = tmp_path / "s.csv"
    path.write_text("dealer,month,amount\nXX,2026-08,100\n")
    with translation.override("zh-hans"), pytest.raises(CommandError, match="1 个错误，未保存任何内容。"):
        call_command("import_sales", str(path), stdout=io.StringIO(), stderr=io.StringIO())


@pytest.mark.django_db
@pytest.mark.parametrize(
    "command, period, message",
    [
        ("export_points", "9999-12", "9999-12：年份须在 2000 至 2027 之间。"),
        ("export_points", "2026-13", "月份格式应为 2026-09：2026-13"),
        ("export_abc", "2026Q5", "季度格式应如 2026Q3：2026Q5"),
        ("open_quarter", "9999Q4", "9999Q4：年份须在 2000 至 2027 之间。"),
    ],
)
@time_machine.travel("2026-11-20 10:00 +0800", tick=False)
def test_a_bad_period_is_one_translated_message(command, period, message):
    with translation.override("zh-hans"), pytest.raises(CommandError) as caught:
        call_command(command, period, stdout=io.StringIO(), stderr=io.StringIO())
    assert str(caught.value) == message
