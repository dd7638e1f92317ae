"""Fixtures shared by every app's tests."""

import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from dealers.roles import Role
from dealers.staff import save_staff
from dealers.tests.factories import OfficeFactory

BASE_DIR = Path(__file__).resolve().parent
PASSWORD = "pw-123456"


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _on_postgresql() -> bool:
    from django.conf import settings

    return "postgresql" in settings.DATABASES["default"]["ENGINE"]


_skipped: list[str] = []  # node ids of the tests skipped in this run


def pytest_runtest_setup(item):
    """A test that needs PostgreSQL (`postgresql`, `celery_worker`) on another database: skipped
    on a developer's machine, a failure under CI (CI=true), where it would otherwise stay green."""
    needs = item.get_closest_marker("postgresql") or item.get_closest_marker("celery_worker")
    if needs is not None and not _on_postgresql():
        message = f"{item.nodeid} needs PostgreSQL (DATABASE_URL=postgres://…)"
        if _under_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    """Under CI a skipped test fails the run: what is not run is not tested."""
    if _under_ci() and _skipped and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _under_ci() and _skipped:
        terminalreporter.write_line(
            f"CI=true: {len(_skipped)} skipped test(s) fail the run: " + ", ".join(sorted(set(_skipped))),
            red=True,
        )


def pytest_collection_modifyitems(items):
    """Give every transactional test (live server, real workers, `transaction=True`) serialized rollback.

    A transactional test ends by flushing every table, which would also drop the rows
    that data migrations create (role groups, the indicator catalogue, default weights,
    policies and points tiers) for every test after it. Serialized rollback restores them.
    """
    transactional_fixtures = {"transactional_db", "live_server", "worker_process"}
    for item in items:
        if "worker_process" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.celery_worker)
        marker = item.get_closest_marker("django_db")
        names = getattr(item, "fixturenames", [])
        if marker is not None:
            if (
                marker.kwargs.get("transaction")
                or (marker.args and marker.args[0])
                or (transactional_fixtures.intersection(names))
            ):
                kwargs = {**marker.kwargs, "serialized_rollback": True}
                item.add_marker(pytest.mark.django_db(*marker.args, **kwargs), append=False)
        elif transactional_fixtures.intersection(names) and "django_db_serialized_rollback" not in names:
            names.append("django_db_serialized_rollback")


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.AXES_ENABLED = False


@pytest.fixture
def count_queries(db):
    """count_queries(fn) → (number of SQL queries fn ran, fn's result)."""
    from django.test.utils import CaptureQueriesContext

    def count(fn):
        with CaptureQueriesContext(connection) as captured:
            result = fn()
        return len(captured), result

    return count


@pytest.fixture
def office(db):
    return OfficeFactory(code="SH", name="上海办事处")


@pytest.fixture
def other_office(db):
    return OfficeFactory(code="BJ", name="北京办事处")


@pytest.fixture
def make_staff(db):
    """make_staff("name", Role.X, office=office) → a saved user with that role."""

    def make(username, *roles, office=None, email=None):
        user, _ = save_staff(
            username=username,
            password=PASSWORD,
            roles=[str(r) for r in roles],
            email=email or f"{username}@example.com",
            name=username,
            office_code=office.code if office else None,
        )
        return user

    return make


@pytest.fixture
def office_manager(make_staff, office):
    return make_staff("om", Role.OFFICE_MANAGER, office=office)


@pytest.fixture
def business_manager(make_staff, office):
    return make_staff("bm", Role.BUSINESS_MANAGER, office=office)


@pytest.fixture
def statistician(make_staff, office):
    return make_staff("stat", Role.STATISTICIAN, office=office)


@pytest.fixture
def planner(make_staff):
    return make_staff("planner", Role.SALES_PLANNING)


@pytest.fixture
def vp(make_staff):
    return make_staff("vp", Role.MARKETING_VP)


# A real Celery worker ---------------------------------------------------------


def _database_url():
    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD'] or ''}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _reconnect(app):
    """Drop the app's cached broker connections and result backend, so it uses its current settings."""
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
    app._backend_cache = None
    app._local = threading.local()


@pytest.fixture
def worker_process(transactional_db, settings):
    """Start `celery worker` processes on Redis against the test database.

    Returns a function `start(concurrency=1, include=())` → Popen (`include`:
    extra task modules for the worker to import); the fixture points the
    in-process Celery app at the same broker and queue, so `.delay()` in the
    test goes to those workers, and stops them afterwards.
    """
    from evalsys.celery import app, worker_command

    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    previous = {
        k: app.conf[k] for k in ("broker_url", "result_backend", "task_always_eager", "task_default_queue")
    }
    app.conf.update(
        broker_url=redis_url, result_backend=redis_url, task_always_eager=False, task_default_queue=queue
    )
    _reconnect(app)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": queue,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(settings.MEDIA_ROOT / "mail"),
    }
    processes = []

    def start(concurrency=1, name=None, include=()):
        name = name or f"w{len(processes)}-{queue}"
        extra = [f"--include={','.join(include)}"] if include else []
        process = subprocess.Popen(
            worker_command(
                queue=queue,
                concurrency=concurrency,
                loglevel="INFO",
                options=[
                    "-n",
                    f"{name}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    *extra,
                ],
            ),
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        processes.append(process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"celery worker exited:\n{process.stdout.read()}")
            replies = app.control.ping(destination=[f"{name}@{os.uname().nodename}"], timeout=0.5)
            if replies:
                return process
        raise RuntimeError("celery worker did not answer within 60 s")

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    app.conf.update(previous)
    _reconnect(app)


# The system Chromium ------------------------------------------------------------

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    from playwright import sync_api as playwright_api

    executable = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(executable).exists():
        pytest.fail(f"browser tests need the system Chromium at {executable} (apt-get install chromium)")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # Playwright's sync API leaves an event loop running in this thread, and Django
    # then keeps its database connections per async context: new connection objects
    # that lack the snapshot serialized rollback restores from. Carry it over.
    from django.db import connections

    snapshots = {
        alias: connections[alias]._test_serialized_contents
        for alias in connections
        if hasattr(connections[alias], "_test_serialized_contents")
    }
    with playwright_api.sync_playwright() as p:
        for alias, snapshot in snapshots.items():
            connections[alias]._test_serialized_contents = snapshot
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def login(live_server):
    """login(page, user): sign in through the login form."""

    def do_login(page, user, password=PASSWORD):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")

    return do_login
