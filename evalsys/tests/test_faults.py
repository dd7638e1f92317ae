"""Faults: a worker killed in the middle of a job, Redis down, the database gone during an import."""

import contextlib
import json
import os
import signal
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.db import OperationalError, connection
from django.urls import reverse
from django.utils import translation

from dealers.models import MonthlySales, Notification, ReminderLog
from dealers.roles import Role
from dealers.targets.imports import SalesImporter
from dealers.targets.tasks import send_target_reminders_task
from dealers.tests.factories import AgreementFactory, DealerFactory, OfficeFactory
from evalsys.tests.fault_hooks import fault_file
from scoring import services, tasks
from scoring.models import Grade, GradingStatus, QuarterGrading
from scoring.tests.factories import Q3, approve, dealer_with_sales, fill_manual

GRADE_FIELDS = (
    "dealer__code",
    "office__code",
    "evaluated",
    "total",
    "sales_volume",
    "office_rank",
    "company_rank",
    "computed_class",
    "final_class",
    "change",
)


def _wait_until(check, timeout=90, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _kill_worker(process):
    """SIGKILL a worker and its pool processes, as the kernel's OOM killer or a power cut would."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    for pid in [process.pid, *map(int, children)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(timeout=20)


def _wait_for_dead_sessions():
    """Until PostgreSQL has noticed the killed worker's connection and rolled back its transaction."""

    def no_open_transaction():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%%'"
            )
            return cursor.fetchone()[0] == 0

    _wait_until(no_open_transaction, what="the killed worker's transaction to end")


def _paused_worker(start, tmp_path, fault):
    """A worker that pauses at `fault` (see fault_hooks); workers started later do not."""
    from evalsys.celery import app

    marker = tmp_path / "paused"
    config = fault_file(app.conf.task_default_queue)
    config.write_text(json.dumps({"fault": fault, "marker": str(marker)}))
    try:
        process = start(include=["evalsys.tests.fault_hooks"])
    finally:
        config.unlink()
    return process, marker


def _grades():
    return sorted(Grade.objects.filter(quarter=str(Q3)).values_list(*GRADE_FIELDS))


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_in_the_middle_of_an_office_leaves_it_ungraded_and_a_rerun_completes(
    worker_process, tmp_path
):
    # given three approved offices of four dealers each
    offices = [OfficeFactory(code=code) for code in ("K1", "K2", "K3")]
    for n, office in enumerate(offices):
        for i in range(4):
            dealer_with_sales(office=office, code=f"{office.code}-{i}", sales=(100 + 10 * i, 90, 80 + n))
    services.open_quarter(quarter=Q3)
    fill_manual(value=Decimal("75.5"))
    approve()
    # and a worker that stops re-grading K2 after writing its grades, before committing
    process, marker = _paused_worker(worker_process, tmp_path, "regrade:K2")

    # when a re-grade runs on it and the worker is killed there
    tasks.regrade_quarter_task.delay(str(Q3))
    _wait_until(marker.exists, what="the worker to reach K2")
    _kill_worker(process)
    _wait_for_dead_sessions()

    # then K1 is graded, K2 (killed mid-office) and K3 have nothing: no half-graded office
    by_office = {o.code: Grade.objects.filter(quarter=str(Q3), office=o).count() for o in offices}
    assert by_office == {"K1": 4, "K2": 0, "K3": 0}
    assert QuarterGrading.objects.get(quarter=str(Q3)).status == GradingStatus.GRADING

    # when the re-grade is run again on a healthy worker
    worker_process()
    tasks.regrade_quarter_task.delay(str(Q3))
    _wait_until(
        lambda: QuarterGrading.objects.get(quarter=str(Q3)).status == GradingStatus.GRADED,
        what="the second run to finish",
    )

    # then every dealer is graded, exactly as a clean run in one process grades them
    after_rerun = _grades()
    assert len(after_rerun) == 12
    services.regrade_quarter(quarter=Q3)
    assert _grades() == after_rerun


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_in_the_middle_of_the_reminder_job_sends_each_reminder_once_after_a_rerun(
    worker_process, tmp_path, settings, office, make_staff
):
    # given three business managers whose dealers lack December's target, and their office manager
    people = [make_staff(f"bm{i}", Role.BUSINESS_MANAGER, office=office) for i in range(3)]
    people.append(make_staff("om", Role.OFFICE_MANAGER, office=office))
    for i, manager in enumerate(people[:3]):
        AgreementFactory(
            dealer=DealerFactory(office=office, code=f"R{i}", business_manager=manager), year=2026
        )
    # and a worker that stops at the second e-mail, after claiming it and before committing
    process, marker = _paused_worker(worker_process, tmp_path, "reminder:2")

    # when the 25th's job runs and the worker is killed there
    send_target_reminders_task.delay("2026-11-25")
    _wait_until(marker.exists, what="the worker to reach the second reminder")
    _kill_worker(process)
    _wait_for_dead_sessions()
    # then only the first person's reminder is recorded
    assert ReminderLog.objects.count() == 1

    # when the job runs again, twice
    worker_process()
    first = send_target_reminders_task.delay("2026-11-25").get(timeout=60)
    second = send_target_reminders_task.delay("2026-11-25").get(timeout=60)

    # then each person has exactly one reminder: one log row, one notification, one e-mail
    assert (first["sent"], second["sent"]) == (3, 0)
    assert sorted(ReminderLog.objects.values_list("user__username", flat=True)) == ["bm0", "bm1", "bm2", "om"]
    for person in people:
        assert Notification.objects.filter(user=person, key__startswith="target-reminder:").count() == 1
    mail = "".join(p.read_text() for p in (Path(settings.MEDIA_ROOT) / "mail").iterdir())
    for person in people:
        assert mail.count(f"To: {person.email}") == 1, person.username


@pytest.mark.django_db
def test_with_redis_down_the_jobs_page_keeps_serving_and_says_the_job_was_not_queued(
    client, planner, office, settings
):
    from conftest import _reconnect
    from evalsys.celery import app

    # given a graded quarter, and a broker and result backend nobody listens on
    dealer_with_sales(office=office)
    services.open_quarter(quarter=Q3)
    services.regrade_quarter(quarter=Q3)
    keys = ("broker_url", "result_backend", "task_always_eager")
    previous = {k: app.conf[k] for k in keys}
    app.conf.update(
        broker_url="redis://127.0.0.1:1/0", result_backend="redis://127.0.0.1:1/0", task_always_eager=False
    )
    _reconnect(app)
    client.force_login(planner)
    client.cookies["django_language"] = "en"
    try:
        # when sales planning starts a re-grade and an opening
        responses, seconds = [], []
        for action in ("regrade", "open"):
            started = time.monotonic()
            responses.append(
                client.post(reverse("scoring:job_start"), {"action": action, "quarter": str(Q3)})
            )
            seconds.append(time.monotonic() - started)
        rounds_page = client.get(reverse("scoring:rounds"))
    finally:
        app.conf.update(previous)
        _reconnect(app)

    # then each answer comes within 2 s as a redirect with a clear message, and the pages keep working
    assert max(seconds) < 2, seconds
    for response in responses:
        assert response.status_code == 302
    messages = [str(m) for m in get_messages(rounds_page.wsgi_request)]
    assert rounds_page.status_code == 200
    assert sum("could not be queued" in m for m in messages) == 2, messages
    # and the quarter is left as it was: graded, not running
    grading = QuarterGrading.objects.get(quarter=str(Q3))
    assert grading.status == GradingStatus.GRADED
    status = client.get(reverse("scoring:job_status", args=[str(Q3)])).json()
    assert status["running"] is False


def _sales_file(tmp_path, amount):
    path = tmp_path / "sales.csv"
    path.write_text(f"经销商编码,月份,销售额\nSH100,2026-09,{amount}\n", encoding="utf-8")
    return path


@pytest.mark.django_db
def test_a_database_error_while_confirming_an_import_in_the_browser_saves_nothing_and_says_so(
    client, statistician, office, monkeypatch, tmp_path
):
    # given a dealer with a sales figure, and a file that changes it, previewed in the browser
    dealer = DealerFactory(office=office, code="SH100")
    MonthlySales.objects.create(dealer=dealer, month="2026-09-01", amount=Decimal("500.00"))
    client.force_login(statistician)
    client.cookies["django_language"] = "en"
    with _sales_file(tmp_path, 900).open("rb") as upload:
        preview = client.post(reverse("targets:sales_import"), {"file": upload})
    token = preview.context["token"]
    # and a database that fails after the rows were written, before the commit
    original_save = SalesImporter.save

    def save_then_fail(self, rows):
        original_save(self, rows)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(SalesImporter, "save", save_then_fail)

    # when the statistician confirms
    response = client.post(reverse("targets:sales_import"), {"token": token}, follow=True)

    # then the page says nothing was imported, and nothing was
    assert response.status_code == 200
    assert "nothing was imported" in response.content.decode()
    assert MonthlySales.objects.get(dealer=dealer).amount == Decimal("500.00")


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_the_database_connection_killed_during_an_import_command_saves_nothing_and_says_so(
    statistician, office, monkeypatch, tmp_path
):
    import psycopg2
    from django.core.management import CommandError, call_command

    # given a dealer with a sales figure, and an administrator who kills the import's
    # database session (pg_terminate_backend) after its rows were written
    dealer = DealerFactory(office=office, code="SH100")
    MonthlySales.objects.create(dealer=dealer, month="2026-09-01", amount=Decimal("500.00"))
    original_save = SalesImporter.save

    def save_then_lose_connection(self, rows):
        counts = original_save(self, rows)
        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        with psycopg2.connect(**params) as other, other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [connection.connection.get_backend_pid()])
        MonthlySales.objects.count()  # the next statement finds the connection gone
        return counts

    monkeypatch.setattr(SalesImporter, "save", save_then_lose_connection)

    # when the import command runs
    with translation.override("en"), pytest.raises(CommandError, match="nothing was saved"):
        call_command("import_sales", str(_sales_file(tmp_path, 900)))

    # then the figure is as it was (Django reconnects for this query)
    assert MonthlySales.objects.get(dealer=dealer).amount == Decimal("500.00")
