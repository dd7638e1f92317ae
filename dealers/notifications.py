"""In-app notifications (the bell), sent at most once per user and key."""

from django.db import IntegrityError, transaction

from .models import Notification


def notify(*, user, key: str, title: str, body: str = "", url: str = "") -> bool:
    """Create the notification unless `user` already has one with `key`; True when created.

    Safe to call concurrently: the unique (user, key) constraint decides.
    """
    if Notification.objects.filter(user=user, key=key).exists():
        return False
    try:
        with transaction.atomic():
            Notification.objects.create(user=user, key=key, title=title[:300], body=body, url=url)
    except IntegrityError:
        return False
    return True


def unread_count(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
