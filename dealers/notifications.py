"""In-app notifications (the bell), sent at most once per user and key, with an e-mail where wanted."""

import logging
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage
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


logger = logging.getLogger(__name__)


def notify_with_email(*, user, key: str, title: str, body: str = "", url: str = "") -> bool:
    """`notify`, and when that created the notification, the same by e-mail (with the link).

    Called after the change it reports has committed; a mail server that is down
    costs the e-mail (logged), never the change or the in-app notification.
    """
    created = notify(user=user, key=key, title=title, body=body, url=url)
    if created and user.email:
        link = settings.SITE_URL.rstrip("/") + url if url else ""
        try:
            EmailMessage(
                title[:300],
                "\n\n".join(filter(None, [body, link])),
                settings.DEFAULT_FROM_EMAIL,
                [user.email],
            ).send()
        except (smtplib.SMTPException, OSError):
            logger.warning("e-mail %s to %s not sent", key, user.email, exc_info=True)
    return created


def unread_count(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
