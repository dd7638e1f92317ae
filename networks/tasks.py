from celery import shared_task
from django.utils import timezone

from evalsys.periods import Quarter

from . import services


@shared_task
def draft_network_summaries_task(quarter: str | None = None):
    """Draft the summaries of `quarter` (default: the quarter just ended) and tell the office managers."""
    quarter = Quarter.parse(quarter) if quarter else Quarter.containing(timezone.localdate()).previous()
    summaries = services.draft_summaries(quarter=quarter)
    services.announce_summary_drafts(summaries=summaries)
    return len(summaries)
