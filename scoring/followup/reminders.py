"""Reminders of rectification plans (DESIGN.md §5a): due within 7 days, and overdue.

Run daily by Celery beat, like the target reminders (`dealers.reminders`), and with the
same guarantee: each office manager gets one e-mail and one in-app notification for each
plan and each of the two occasions, however often the job runs. Changing a plan's due
date arms its reminders again.
"""

import datetime
import hashlib
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from dealers.notifications import notify
from dealers.roles import Role
from dealers.targets.reminders import absolute_url

from .models import PlanReminder, PlanReminderKind, WatchEntry, WatchStatus
from .rules import DUE_SOON_DAYS, reminder_kind


def send_plan_reminders(*, today: datetime.date) -> dict:
    """Remind each office manager of his office's open plans due within 7 days or overdue."""
    entries = list(
        WatchEntry.objects.filter(
            status=WatchStatus.OPEN,
            plan_due__isnull=False,
            plan_due__lte=today + datetime.timedelta(days=DUE_SOON_DAYS),
        )
        .select_related("dealer__office")
        .order_by("plan_due", "dealer__code")
    )
    by_office = {}
    for entry in entries:
        by_office.setdefault(entry.dealer.office_id, []).append((entry, reminder_kind(entry.plan_due, today)))
    managers = list(
        get_user_model()
        .objects.filter(
            groups__name=Role.OFFICE_MANAGER, staff_profile__office_id__in=by_office.keys(), is_active=True
        )
        .select_related("staff_profile")
        .distinct()
    )
    claimed = set(
        PlanReminder.objects.filter(entry__in=entries).values_list("entry_id", "user_id", "kind", "plan_due")
    )
    sent = 0
    for manager in managers:
        due = [
            (entry, kind)
            for entry, kind in by_office[manager.staff_profile.office_id]
            if (entry.pk, manager.pk, kind, entry.plan_due) not in claimed
        ]
        if due:
            sent += _deliver(manager, due)
    return {"plans": len(entries), "sent": sent}


def _deliver(manager, due) -> int:
    """Claim the reminders, then send one e-mail and one notification listing them.

    Claim and sending share one transaction: a failed e-mail rolls the claim back for the
    next run; a concurrent run waits on the unique index and then finds them claimed.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                PlanReminder.objects.bulk_create(
                    [PlanReminder(entry=e, user=manager, kind=kind, plan_due=e.plan_due) for e, kind in due]
                )
        except IntegrityError:
            return 0
        overdue = [e for e, kind in due if kind == PlanReminderKind.OVERDUE]
        soon = [e for e, kind in due if kind == PlanReminderKind.DUE_SOON]
        title = _("Rectification plans: %(overdue)s overdue, %(soon)s due within 7 days") % {
            "overdue": len(overdue),
            "soon": len(soon),
        }
        lines = []
        for label, group in ((_("Overdue:"), overdue), (_("Due within 7 days:"), soon)):
            if group:
                lines.append(str(label))
                lines += [
                    f"{e.dealer.code} {e.dealer.name}  {e.plan_due.isoformat()}  {absolute_url(e.get_absolute_url())}"
                    for e in group
                ]
        body = "\n".join(lines)
        fingerprint = hashlib.sha1(
            "|".join(f"{e.pk}:{kind}:{e.plan_due}" for e, kind in due).encode()
        ).hexdigest()[:20]
        if manager.email:
            host = urlsplit(settings.SITE_URL).hostname or "evalsys.localhost"
            EmailMessage(
                title,
                body,
                settings.DEFAULT_FROM_EMAIL,
                [manager.email],
                headers={"Message-ID": f"<plan-reminder.{manager.pk}.{fingerprint}@{host}>"},
            ).send()
        notify(
            user=manager,
            key=f"watch-plan-reminder:{fingerprint}",
            title=title,
            body=body,
            url=due[0][0].get_absolute_url() if len(due) == 1 else _plans_url(),
        )
    return 1


def _plans_url() -> str:
    from django.urls import reverse

    return reverse("followup:watchlist") + "?status=open"
