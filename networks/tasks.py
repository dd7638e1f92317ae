from celery import shared_task

from evalsys.periods import Quarter, quarter_just_ended

from . import services


@shared_task
def draft_network_summaries_task(quarter: str | None = None):
    """Draft the summaries of `quarter` (default: the quarter just ended) and tell the office managers."""
    quarter = Quarter.parse(quarter) if quarter else quarter_just_ended()
    summaries = services.draft_summaries(quarter=quarter)
    services.announce_summary_drafts(summaries=summaries)
    return len(summaries)
