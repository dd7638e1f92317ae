from celery import shared_task

from . import versions


@shared_task
def compact_data_versions_task() -> int:
    """Nightly: fold the version log's old rows (`versions.compact_log`); the rows removed."""
    return versions.compact_log()
