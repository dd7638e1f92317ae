"""The target reminder job (DESIGN.md §4): who lacks next month's agreed target, and telling them once."""

import datetime
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from evalsys.periods import add_months, format_month

from ..models import AnnualAgreement, Dealer, MonthlyTarget, ReminderLog, TargetStatus
from ..notifications import notify
from ..roles import Role, display_name
from .rules import DEADLINE, reminder_kind, target_deadline

BUSINESS_MANAGER = "business_manager"
OFFICE_MANAGER = "office_manager"


def dealers_missing_target(month: datetime.date):
    """Dealers in the network at `month` whose agreement covers it and who lack an agreed target for it."""
    return (
        Dealer.objects.in_network_on(month)
        .exclude(
            pk__in=MonthlyTarget.objects.filter(month=month, status=TargetStatus.AGREED).values("dealer_id")
        )
        .filter(pk__in=AnnualAgreement.objects.filter(year=month.year).values("dealer_id"))
    )


def targets_url(month: datetime.date, dealer: Dealer | None = None) -> str:
    url = reverse("targets:next_month") + "?" + urlencode({"month": format_month(month)})
    return url + (f"#dealer-{dealer.code}" if dealer else "")


def send_target_reminders(*, today: datetime.date) -> dict:
    """Send the reminder due on `today`, if any, to every business manager and office manager
    concerned: one e-mail and one notification per person and month, however often this runs."""
    kind = reminder_kind(today, settings.TARGET_REMINDER_DAY, settings.TARGET_HEADS_UP_DAYS)
    if kind is None:
        return {"kind": None, "sent": 0}
    month = add_months(today.replace(day=1), 1)
    missing = list(
        dealers_missing_target(month)
        .select_related("office", "business_manager")
        .order_by("office__code", "code")
    )
    due = {"month": month, "kind": kind, "deadline": target_deadline(month, settings.TARGET_REMINDER_DAY)}
    sent = _remind_business_managers(missing, **due) + _remind_office_managers(missing, **due)
    return {"kind": kind, "month": format_month(month), "missing": len(missing), "sent": sent}


def _remind_business_managers(missing, *, month, kind, deadline) -> int:
    """Each business manager: his own dealers still lacking the month's agreed target."""
    by_manager = {}
    for dealer in missing:
        if dealer.business_manager is not None:
            by_manager.setdefault(dealer.business_manager, []).append(dealer)
    sent = 0
    for manager, dealers in by_manager.items():
        subject = _("%(count)s dealers still lack an agreed target for %(month)s (deadline %(deadline)s)") % {
            "count": len(dealers),
            "month": format_month(month),
            "deadline": deadline.isoformat(),
        }
        lines = [_("Please agree these targets on the targets page:")]
        lines += [f"{d.code} {d.name}  {absolute_url(targets_url(month, d))}" for d in dealers]
        sent += _deliver(
            user=manager,
            month=month,
            kind=kind,
            audience=BUSINESS_MANAGER,
            subject=subject,
            lines=lines,
            url=targets_url(month),
            count=len(dealers),
        )
    return sent


def _remind_office_managers(missing, *, month, kind, deadline) -> int:
    """Each office manager: his office's dealers lacking the target, counted by business manager."""
    by_office = {}
    for dealer in missing:
        by_office.setdefault(dealer.office_id, []).append(dealer)
    office_managers = (
        get_user_model()
        .objects.filter(
            groups__name=Role.OFFICE_MANAGER, staff_profile__office_id__in=by_office.keys(), is_active=True
        )
        .select_related("staff_profile")
        .distinct()
    )
    sent = 0
    for manager in office_managers:
        dealers = by_office[manager.staff_profile.office_id]
        subject = _(
            "Office summary: %(count)s dealers lack an agreed target for %(month)s (deadline %(deadline)s)"
        ) % {
            "count": len(dealers),
            "month": format_month(month),
            "deadline": deadline.isoformat(),
        }
        counts = {}
        for dealer in dealers:
            name = _manager_name(dealer.business_manager)
            counts[name] = counts.get(name, 0) + 1
        lines = [_("By business manager:")]
        lines += [f"  {name}: {count}" for name, count in sorted(counts.items())]
        lines += [_("Dealers:")]
        lines += [
            f"{d.code} {d.name} ({_manager_name(d.business_manager)})  {absolute_url(targets_url(month, d))}"
            for d in dealers
        ]
        sent += _deliver(
            user=manager,
            month=month,
            kind=kind,
            audience=OFFICE_MANAGER,
            subject=subject,
            lines=lines,
            url=targets_url(month),
            count=len(dealers),
        )
    return sent


def _manager_name(user) -> str:
    return _("no business manager") if user is None else display_name(user)


def absolute_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def reminder_message_id(*, user, month, kind, audience) -> str:
    """The same Message-ID for the same reminder, however often it is sent.

    A worker killed after the mail server accepted a reminder and before its
    claim committed sends it again on the rerun (docs/security.md); with the
    same Message-ID, mail servers and clients recognise it as a duplicate.
    """
    host = urlsplit(settings.SITE_URL).hostname or "evalsys.localhost"
    return f"<target-reminder.{format_month(month)}.{kind}.{audience}.{user.pk}@{host}>"


def _deliver(*, user, month, kind, audience, subject, lines, url, count) -> int:
    """Claim the reminder log row, then send; a second claimant (now or later) gets nothing.

    The claim and the sending share one transaction: if sending fails, the claim is
    rolled back and the next run tries again; a concurrent run waits on the unique
    index until this one commits and then finds the reminder taken.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                ReminderLog.objects.create(
                    user=user, month=month, kind=kind, audience=audience, dealer_count=count
                )
        except IntegrityError:
            return 0
        title = subject if kind == DEADLINE else _("Heads-up: %(subject)s") % {"subject": subject}
        body = "\n".join(lines)
        if user.email:
            EmailMessage(
                title,
                body,
                settings.DEFAULT_FROM_EMAIL,
                [user.email],
                headers={
                    "Message-ID": reminder_message_id(user=user, month=month, kind=kind, audience=audience)
                },
            ).send()
        notify(
            user=user,
            key=f"target-reminder:{format_month(month)}:{kind}:{audience}",
            title=title,
            body=body,
            url=url,
        )
    return 1
