"""A task for the worker smoke test; a real worker imports it with `--include`."""

from celery import shared_task
from django.contrib.auth import get_user_model

from dealers.notifications import notify


@shared_task
def notify_user_task(user_id, key, title):
    return notify(user=get_user_model().objects.get(pk=user_id), key=key, title=title)
