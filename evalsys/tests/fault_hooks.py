"""Makes a real worker stop in the middle of a job, so a test can kill it there.

A worker imports this module with `--include`; at start it reads `fault_file(queue)` of
its queue, if there is one: `{"fault": what to pause, "marker": a file to write when paused}`:

- `regrade:<office code>`: pause re-grading that office after its grades are written,
  before the office's transaction commits;
- `reminder:<n>`: pause the reminder job at its n-th e-mail, after that person's
  reminder was claimed and before the claim commits.
"""

import json
import os
import tempfile
import time
from pathlib import Path


def fault_file(queue: str) -> Path:
    return Path(tempfile.gettempdir()) / f"evalsys-fault-{queue}.json"


_config = fault_file(os.environ.get("CELERY_QUEUE", ""))
_config = json.loads(_config.read_text()) if _config.is_file() else {}
FAULT = _config.get("fault", "")
MARKER = _config.get("marker", "")


def _pause():
    Path(MARKER).write_text(str(os.getpid()))
    time.sleep(600)


def _pause_regrade(office_code):
    from dealers.models import Office
    from scoring.services import grading

    original = grading._mark_offices_done

    def mark_offices_done(quarter, office_ids, run=None, **kwargs):
        if Office.objects.filter(pk__in=office_ids, code=office_code).exists():
            _pause()
        return original(quarter, office_ids, run, **kwargs)

    grading._mark_offices_done = mark_offices_done  # where grade_offices looks it up


def _pause_reminder(nth):
    from dealers.targets import reminders

    calls = []

    class PausingEmailMessage(reminders.EmailMessage):
        def send(self, *args, **kwargs):
            calls.append(1)
            if len(calls) == nth:
                _pause()
            return super().send(*args, **kwargs)

    reminders.EmailMessage = PausingEmailMessage


if FAULT.startswith("regrade:"):
    _pause_regrade(FAULT.split(":", 1)[1])
elif FAULT.startswith("reminder:"):
    _pause_reminder(int(FAULT.split(":", 1)[1]))
