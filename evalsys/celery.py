import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsys.settings")

app = Celery("evalsys")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each app's `tasks` module, and those of the domain packages inside an app.
app.autodiscover_tasks()
app.autodiscover_tasks(["dealers.targets"])


def worker_command(*, queue: str, concurrency: int, loglevel: str = "WARNING", options=()) -> list[str]:
    """The command line of a Celery worker process of this project reading `queue` (tests, benchmark)."""
    import sys

    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "evalsys",
        "worker",
        "-Q",
        queue,
        "-c",
        str(concurrency),
        "-l",
        loglevel,
        *options,
    ]
