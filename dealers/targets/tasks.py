import datetime

from celery import shared_task
from django.utils import timezone

from .reminders import send_target_reminders


@shared_task(autoretry_for=(OSError,), retry_backoff=60, max_retries=5)
def send_target_reminders_task(day: str | None = None) -> dict:
    """The reminder job for `day` (ISO date; default today in Asia/Shanghai)."""
    today = datetime.date.fromisoformat(day) if day else timezone.localdate()
    return send_target_reminders(today=today)
