"""`manage.py benchmark --dealers N`: the speed budget of DESIGN.md §7, measured.

Builds a synthetic company of N dealers (offices of 500, 10 indicators, three
months of sales and agreed targets each) in the configured database, once:
a second run on the same database reuses it. Each measured step runs in its
own child process so that its peak memory (max RSS) is its own.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dealers.models import Dealer, MonthlySales, MonthlyTarget, Office, TargetStatus
from dealers.roles import Role
from dealers.staff import save_staff
from dealers.targets.imports import SalesImporter
from evalsys.periods import Quarter, format_month
from scoring import services
from scoring.models import (
    EvaluationRound,
    Grade,
    GradingStatus,
    QuarterGrading,
    RoundStatus,
    SalesScore,
    Score,
)

STEPS = ["first", "again", "abc", "grid", "import", "fanout"]
OFFICE_SIZE = 500
PREFIX = "BM"
BATCH = 5000


def peak_rss_kib() -> int:
    """This process's peak resident memory in KiB.

    Linux's `ru_maxrss` keeps the parent's high-water mark across fork and exec,
    so a step would report the builder's memory; `VmHWM` is this program's own.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class Command(BaseCommand):
    help = "Build a synthetic company and time re-grading, the ABC list and an office's grid."

    def add_arguments(self, parser):
        parser.add_argument("--dealers", type=int, default=10000)
        parser.add_argument("--quarter", default="2025Q3")
        parser.add_argument("--repeat", type=int, default=15, help="requests per page for the median")
        parser.add_argument(
            "--only",
            action="append",
            choices=STEPS,
            help="run only these steps (repeatable); 'again' re-grades without deleting the grades first",
        )
        parser.add_argument(
            "--step", choices=["regrade", "abc", "grid", "import", "fanout"], help=argparse.SUPPRESS
        )

    def handle(self, *args, dealers, quarter, repeat, step, only, **options):
        quarter = Quarter.parse(quarter)
        if step:
            result = getattr(self, f"step_{step}")(quarter=quarter, repeat=repeat)
            result["peak_rss_kib"] = peak_rss_kib()
            self.stdout.write("RESULT " + json.dumps(result))
            return
        only = set(only or STEPS)
        started = time.perf_counter()
        built = self.build(dealers=dealers, quarter=quarter, fresh_grades="first" in only)
        self.stdout.write(f"company: {dealers} dealers, {built} ({time.perf_counter() - started:.1f} s)")
        rows = []
        if "first" in only:
            rows.append(("re-grade (first)", *self.child("regrade", quarter, repeat)))
        if "again" in only:
            rows.append(("re-grade (again, no changes)", *self.child("regrade", quarter, repeat)))
        self.analyze()  # after the first grading
        if "abc" in only:
            rows.append(("ABC list page", *self.child("abc", quarter, repeat)))
        if "grid" in only:
            rows.append((f"office grid ({OFFICE_SIZE} dealers)", *self.child("grid", quarter, repeat)))
        if "import" in only:
            rows.append((f"import_sales ({dealers} rows)", *self.child("import", quarter, repeat)))
        if "fanout" in only:
            if settings.REDIS_URL:
                seconds, _queries, rss = self.child("fanout", quarter, repeat)
                rows.append(("re-grade on Celery (first)", seconds, "", rss))
                rows.append(("re-grade on Celery (again)", self.last_result["again"], "", rss))
            else:
                self.stdout.write("fanout: skipped, it needs REDIS_URL (a Celery worker on Redis)")
        self.stdout.write("")
        self.stdout.write(f"database: {connection.vendor}, dealers: {dealers}, quarter: {quarter}")
        self.stdout.write(f"{'step':<32} {'time':>12} {'queries':>8} {'peak RSS':>10}")
        for name, seconds, queries, rss in rows:
            self.stdout.write(f"{name:<32} {seconds * 1000:>9.0f} ms {queries!s:>8} {rss / 1024:>7.0f} MB")

    def child(self, step, quarter, repeat):
        """Run one step in a child process; (seconds, queries, peak RSS in KiB)."""
        process = subprocess.Popen(
            [
                sys.executable,
                str(settings.BASE_DIR / "manage.py"),
                "benchmark",
                "--step",
                step,
                "--quarter",
                str(quarter),
                "--repeat",
                str(repeat),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        output = process.stdout.read()
        if process.wait() != 0:
            raise SystemExit(f"step {step} failed:\n{output}")
        result = json.loads(next(line for line in output.splitlines() if line.startswith("RESULT "))[7:])
        self.last_result = result
        return result["seconds"], result.get("queries", ""), result["peak_rss_kib"]

    # Building the company ----------------------------------------------------------------

    def build(self, *, dealers, quarter, fresh_grades=True):
        have = Dealer.objects.filter(code__startswith=PREFIX).count()
        if have == dealers:
            self.grade_previous(quarter)
            if fresh_grades:
                self.ungrade(quarter)
            return "reused"
        if have:
            raise SystemExit(
                f"the database holds {have} benchmark dealers, not {dealers}: use a fresh database"
            )
        offices = [
            Office(code=f"{PREFIX}{i:04d}", name=f"基准办事处{i}")
            for i in range((dealers - 1) // OFFICE_SIZE + 1)
        ]
        with transaction.atomic():
            Office.objects.bulk_create(offices, batch_size=BATCH)
            offices = list(Office.objects.filter(code__startswith=PREFIX).order_by("code"))
            joined = quarter.start.replace(year=quarter.year - 2)
            Dealer.objects.bulk_create(
                (
                    Dealer(
                        code=f"{PREFIX}{i:07d}",
                        name=f"基准经销商{i}",
                        kind="logistics" if i % 10 < 3 else "exclusive",
                        office=offices[i // OFFICE_SIZE],
                        tier="一级",
                        joined=joined,
                    )
                    for i in range(dealers)
                ),
                batch_size=BATCH,
            )
            ids = list(
                Dealer.objects.filter(code__startswith=PREFIX).order_by("code").values_list("pk", flat=True)
            )
            for month_index, month in enumerate(quarter.months):
                MonthlySales.objects.bulk_create(
                    (
                        MonthlySales(
                            dealer_id=pk,
                            month=month,
                            amount=Decimal(10000 + (pk * 7919 + month_index) % 90000),
                        )
                        for pk in ids
                    ),
                    batch_size=BATCH,
                )
                MonthlyTarget.objects.bulk_create(
                    (
                        MonthlyTarget(
                            dealer_id=pk,
                            month=month,
                            status=TargetStatus.AGREED,
                            agreed_amount=Decimal(50000 + (pk * 104729) % 20000),
                        )
                        for pk in ids
                    ),
                    batch_size=BATCH,
                )
        self.analyze()
        self.grade_previous(quarter)
        services.open_quarter(quarter=quarter)
        self.analyze()  # the new sheets and scores, or the update below loops over rows it thinks are few
        # Manual scores 60–100 spread over the dealers, then every round approved.
        Score.objects.filter(sheet__round__quarter=str(quarter), computed=False).update(
            value=(F("id") % 4001) / Decimal(100) + 60
        )
        EvaluationRound.objects.filter(quarter=str(quarter)).update(status=RoundStatus.APPROVED)
        save_staff(
            username="bench-planner",
            password="bench-pass-2026",
            roles=[Role.SALES_PLANNING],
            email="",
            name="基准",
        )
        save_staff(
            username="bench-office",
            password="bench-pass-2026",
            roles=[Role.OFFICE_MANAGER],
            email="",
            name="基准",
            office_code=offices[0].code,
        )
        return "built"

    def analyze(self):
        """Fresh planner statistics, as autovacuum would gather after a bulk load.

        Not inside a transaction (the tests): PostgreSQL writes the row counts
        ANALYZE finds into pg_class in place, so a rolled-back test would leave
        every later test's planner counting the rows it had.
        """
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

    def ungrade(self, quarter):
        """Back to an opened, ungraded quarter: no grades, no staged or copied sales indicators."""
        for model in (Grade, Grade.history.model, QuarterGrading, SalesScore):
            rows = model.objects.filter(quarter=str(quarter))
            rows._raw_delete(rows.db)
        computed = Score.objects.filter(sheet__round__quarter=str(quarter), computed=True)
        history = Score.history.model.objects.filter(id__in=computed.values("id"))
        history._raw_delete(history.db)
        computed.update(value=None)
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")  # as autovacuum would after such deletes

    def grade_previous(self, quarter):
        """Published grades of the quarter before, so that grading compares classes (up/down/same)."""
        previous = str(quarter.previous())
        if Grade.objects.filter(quarter=previous, dealer__code__startswith=PREFIX).exists():
            return
        classes = "ABBCC"
        Grade.objects.bulk_create(
            (
                Grade(
                    quarter=previous,
                    dealer_id=pk,
                    office_id=office_id,
                    kind=kind,
                    evaluated=True,
                    total=Decimal(60 + pk % 40),
                    computed_class=classes[pk % 5],
                    final_class=classes[pk % 5],
                    change="same",
                )
                for pk, office_id, kind in Dealer.objects.filter(code__startswith=PREFIX).values_list(
                    "pk", "office_id", "kind"
                )
            ),
            batch_size=BATCH,
        )
        QuarterGrading.objects.update_or_create(
            quarter=previous, defaults={"status": GradingStatus.PUBLISHED, "offices_total": 0}
        )

    # Steps, each in its own process -----------------------------------------------------------

    def step_regrade(self, *, quarter, repeat):
        started = time.perf_counter()
        services.regrade_quarter(quarter=quarter)
        return {"seconds": time.perf_counter() - started}

    def step_fanout(self, *, quarter, repeat):
        """The production path: `regrade_quarter_task` on a real worker of two processes, first and again.

        The worker reads a queue of its own; the time runs from sending the task
        to the quarter's grading being marked graded by the finishing task.
        """
        from evalsys.celery import app, worker_command
        from scoring.tasks import regrade_quarter_task

        self.ungrade(quarter)
        queue = f"benchmark-{os.getpid()}"
        app.conf.task_default_queue = queue
        worker = subprocess.Popen(
            worker_command(
                queue=queue, concurrency=2, loglevel=os.environ.get("BENCHMARK_WORKER_LOG", "WARNING")
            ),
            env={**os.environ, "CELERY_QUEUE": queue},
            cwd=settings.BASE_DIR,
        )
        try:
            deadline = time.monotonic() + 60
            while not app.control.ping(timeout=1, destination=None):
                if time.monotonic() > deadline or worker.poll() is not None:
                    raise SystemExit("the benchmark's Celery worker did not start")
            times = []
            for _run in range(2):
                sent, started = timezone.now(), time.perf_counter()
                regrade_quarter_task.apply_async(args=[str(quarter)], queue=queue)
                times.append(self._wait_graded(quarter, sent, started))
        finally:
            worker.terminate()
            worker.wait(timeout=60)
        return {"seconds": times[0], "again": times[1]}

    def _wait_graded(self, quarter, sent, started):
        graded = QuarterGrading.objects.filter(quarter=str(quarter))
        while time.perf_counter() - started < 900:
            grading = graded.values("status", "error", "graded_at").first()
            if grading and grading["error"]:
                raise SystemExit(f"re-grade failed: {grading['error']}")
            if grading and grading["status"] == GradingStatus.GRADED and grading["graded_at"] >= sent:
                return time.perf_counter() - started
            time.sleep(0.05)
        raise SystemExit("re-grade on Celery did not finish within 15 minutes")

    def step_import(self, *, quarter, repeat):
        """`import_sales` of one new month for every benchmark dealer, as the command does it."""
        month = quarter.next().start
        for model in (MonthlySales, MonthlySales.history.model):
            rows = model.objects.filter(month=month, dealer__code__startswith=PREFIX)
            rows._raw_delete(rows.db)
        lines = ["经销商编码,月份,销售额"]
        codes = Dealer.objects.filter(code__startswith=PREFIX).order_by("code").values_list("code", flat=True)
        lines += [f"{code},{format_month(month)},{10000 + i % 90000}.00" for i, code in enumerate(codes)]
        content = ("\n".join(lines) + "\n").encode()
        started = time.perf_counter()
        result = SalesImporter().run(content, "sales.csv")
        seconds = time.perf_counter() - started
        if not result.saved:
            raise SystemExit("import_sales refused the benchmark file")
        return {"seconds": seconds}

    def _pages(self, username, url, params, repeat):
        client = Client(SERVER_NAME="localhost")
        client.force_login(get_user_model().objects.get(username=username))
        client.get(url, params, secure=True)  # warm up caches and connections
        timings = []
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url, params, secure=True)
                timings.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{url}: HTTP {response.status_code}")
        return {"seconds": statistics.median(timings), "queries": len(queries)}

    def step_abc(self, *, quarter, repeat):
        return self._pages("bench-planner", reverse("scoring:abc_list"), {"quarter": str(quarter)}, repeat)

    def step_grid(self, *, quarter, repeat):
        office_round = EvaluationRound.objects.get(quarter=str(quarter), office__code=f"{PREFIX}0000")
        return self._pages(
            "bench-office", reverse("scoring:grid", args=[office_round.pk]), {}, max(3, repeat // 3)
        )
