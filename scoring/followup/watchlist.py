"""The watch list (DESIGN.md §5a): entries made at publishing, rectification plans, elimination proposals."""

import datetime

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from dealers.notifications import notify
from dealers.roles import Role, allowed
from evalsys.bulk import history_from_rows, update_rows
from evalsys.periods import Quarter
from scoring.models import Grade, GradingStatus, QuarterGrading
from scoring.services import ScoringError

from . import rules
from .models import ProgressNote, ProposalStatus, WatchEntry, WatchRule, WatchStatus

BATCH = 2000
TEXT_MAX = 5000
OWNER_MAX = 100


# At publishing -------------------------------------------------------------------------------


def qualifying_dealers(*, quarter: Quarter, rule: WatchRule) -> set[int]:
    """Dealers whose final class is at or below the rule's class in each of the last
    `rule.quarters` published quarters, `quarter` (published) the newest of them: one query."""
    published = list(
        QuarterGrading.objects.filter(status=GradingStatus.PUBLISHED, quarter__lte=str(quarter))
        .order_by("-quarter")
        .values_list("quarter", flat=True)[: rule.quarters]
    )
    if len(published) < rule.quarters or published[0] != str(quarter):
        return set()
    watched = rules.watched_classes(rule.grade_class)
    grades = Grade.objects.filter(quarter=str(quarter), final_class__in=watched)
    for earlier in published[1:]:
        grades = grades.filter(
            Exists(
                Grade.objects.filter(
                    quarter=earlier, dealer_id=OuterRef("dealer_id"), final_class__in=watched
                )
            )
        )
    return set(grades.values_list("dealer_id", flat=True))


def on_publish(*, quarter: Quarter, user=None) -> dict:
    """The watch-list step of publishing `quarter`, inside the publication's transaction.

    Set-wise: one query selects the dealers that qualify, one reads the entries the
    step may touch; the rules decide; the writes are batched. Idempotent when a
    quarter is re-published (see `rules.publication_step`).
    """
    rule = WatchRule.current()
    qualifying = qualifying_dealers(quarter=quarter, rule=rule)
    final_class = Grade.objects.filter(quarter=str(quarter), dealer_id=OuterRef("dealer_id")).values(
        "final_class"
    )
    entries = {
        e.pk: e
        for e in WatchEntry.objects.filter(
            Q(status=WatchStatus.OPEN) | Q(closed_quarter=str(quarter)) | Q(opened_quarter=str(quarter))
        )
        .annotate(class_now=Subquery(final_class[:1]))
        .only("id", "dealer_id", "opened_quarter", "status", "closed_quarter", "proposal")
    }
    step = rules.publication_step(
        quarter=str(quarter),
        qualifying=qualifying,
        entries=[
            rules.EntryState(e.pk, e.dealer_id, e.opened_quarter, e.status, e.closed_quarter, e.proposal)
            for e in entries.values()
        ],
        class_now={e.dealer_id: e.class_now or "" for e in entries.values()},
        rule_class=rule.grade_class,
    )
    changed = []
    for entry_id, change in step.change.items():
        entry = entries[entry_id]
        entry.status, entry.closed_quarter, entry.proposal = change.status, change.closed, change.proposal
        changed.append(entry)
    update_rows(WatchEntry, changed, ["status", "closed_quarter", "proposal"], batch_size=BATCH, user=user)
    if step.remove:
        WatchEntry.objects.filter(pk__in=step.remove).delete()
    _open_entries(quarter=quarter, dealer_ids=sorted(step.open), user=user)
    escalated = sum(1 for c in step.change.values() if c.status == WatchStatus.ESCALATED)
    _tell_office_managers(quarter)
    if escalated:
        _tell_sales_planning(quarter, escalated)
    return {
        "opened": len(step.open),
        "improved": sum(1 for c in step.change.values() if c.status == WatchStatus.IMPROVED),
        "escalated": escalated,
        "removed": len(step.remove),
    }


def _open_entries(*, quarter: Quarter, dealer_ids: list[int], user) -> None:
    """New open entries for `dealer_ids`, with their history: on PostgreSQL two statements
    whatever their number (Django's bulk_create prepares each of the 15 fields of each row in
    Python, a second per 5,000 entries)."""
    if not dealer_ids:
        return
    if connection.vendor != "postgresql":
        bulk_create_with_history(
            [WatchEntry(dealer_id=dealer_id, opened_quarter=str(quarter)) for dealer_id in dealer_ids],
            WatchEntry,
            batch_size=BATCH,
            default_user=user,
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO scoring_watchentry (dealer_id, opened_quarter, status, closed_quarter, problems, "
            "actions, owner, proposal, proposal_reason) "
            "SELECT dealer_id, %s, %s, '', '', '', '', '', '' FROM unnest(%s::bigint[]) AS dealer_id "
            "RETURNING id",
            [str(quarter), WatchStatus.OPEN, dealer_ids],
        )
        new_ids = [row[0] for row in cursor.fetchall()]
    history_from_rows(WatchEntry, new_ids, history_type="+", user=user)


def _office_managers(office_ids):
    return (
        get_user_model()
        .objects.filter(
            groups__name=Role.OFFICE_MANAGER, staff_profile__office_id__in=office_ids, is_active=True
        )
        .values_list("pk", "staff_profile__office_id")
        .distinct()
    )


def _watchlist_url(**params) -> str:
    from urllib.parse import urlencode

    from django.urls import reverse

    return reverse("followup:watchlist") + (f"?{urlencode(params)}" if params else "")


def _tell_office_managers(quarter: Quarter) -> None:
    """Each office manager whose office has new entries: one notification per quarter."""
    counts = dict(
        WatchEntry.objects.filter(opened_quarter=str(quarter), status=WatchStatus.OPEN)
        .values("dealer__office_id")
        .annotate(n=Count("id"))
        .values_list("dealer__office_id", "n")
        .order_by()
    )
    for user_id, office_id in _office_managers(counts):
        notify(
            user=get_user_model()(pk=user_id),
            key=f"watch:opened:{quarter}:{office_id}",
            title=_("%(count)s dealers of your office are on the watch list since %(quarter)s")
            % {"count": counts[office_id], "quarter": quarter},
            body=_("Record a rectification plan for each: problems, actions, owner and due date."),
            url=_watchlist_url(status=WatchStatus.OPEN),
        )


def _tell_sales_planning(quarter: Quarter, count: int) -> None:
    for user in get_user_model().objects.filter(groups__name=Role.SALES_PLANNING, is_active=True):
        notify(
            user=user,
            key=f"watch:escalated:{quarter}",
            title=_("%(count)s elimination proposals to decide (%(quarter)s)")
            % {"count": count, "quarter": quarter},
            body=_("These dealers stayed at the bottom after their rectification period."),
            url=_watchlist_url(proposal=ProposalStatus.PENDING),
        )


# The office manager's plan --------------------------------------------------------------------


def _locked_entry(entry: WatchEntry, user, *roles) -> WatchEntry:
    """The entry's row, locked, after checking the user may act on it; ScoringError when not."""
    if not allowed(user, *roles):
        raise ScoringError(_("You may not change this watch-list entry."))
    locked = WatchEntry.objects.visible_to(user).select_for_update(of=("self",)).filter(pk=entry.pk).first()
    if locked is None:
        raise ScoringError(_("You may not change this watch-list entry."))
    return locked


def _bounded(text: str, limit: int, label: str) -> str:
    text = (text or "").strip()
    if len(text) > limit:
        raise ScoringError(_("%(field)s: at most %(n)s characters.") % {"field": label, "n": limit})
    return text


def save_plan(
    *, entry: WatchEntry, problems: str, actions: str, owner: str, plan_due: datetime.date | None, user
) -> WatchEntry:
    """The office manager records or revises the rectification plan of an open entry."""
    problems = _bounded(problems, TEXT_MAX, _("Problems"))
    actions = _bounded(actions, TEXT_MAX, _("Actions"))
    owner = _bounded(owner, OWNER_MAX, _("Owner"))
    missing = [
        label
        for label, value in (
            (_("Problems"), problems),
            (_("Actions"), actions),
            (_("Owner"), owner),
            (_("Due date"), plan_due),
        )
        if not value
    ]
    if missing:
        raise ScoringError(_("The plan needs: %(fields)s.") % {"fields": ", ".join(str(m) for m in missing)})
    with transaction.atomic():
        locked = _locked_entry(entry, user, Role.OFFICE_MANAGER)
        if locked.status != WatchStatus.OPEN:
            raise ScoringError(_("This entry is closed; its plan can no longer change."))
        if (locked.problems, locked.actions, locked.owner, locked.plan_due) == (
            problems,
            actions,
            owner,
            plan_due,
        ):
            return locked
        if plan_due != locked.plan_due and plan_due < timezone.localdate():
            raise ScoringError(_("The due date is in the past."))
        locked.problems, locked.actions, locked.owner, locked.plan_due = problems, actions, owner, plan_due
        locked.plan_updated_by = user
        locked.plan_updated_at = timezone.now()
        locked._history_user = user
        locked.save()
    return locked


def add_note(*, entry: WatchEntry, date: datetime.date, text: str, user) -> ProgressNote:
    """A progress note on an open entry's plan; the same note sent twice is kept once."""
    text = _bounded(text, TEXT_MAX, _("Progress"))
    if not text:
        raise ScoringError(_("Write what has been done."))
    if date is None or date > timezone.localdate():
        raise ScoringError(_("The date of a progress note cannot be in the future."))
    with transaction.atomic():
        locked = _locked_entry(entry, user, Role.OFFICE_MANAGER)
        if locked.status != WatchStatus.OPEN:
            raise ScoringError(_("This entry is closed; its plan can no longer change."))
        note, _created = ProgressNote.objects.get_or_create(
            entry=locked, date=date, text=text, written_by=user
        )
    return note


# Sales planning's decision ---------------------------------------------------------------------


def decide_proposal(*, entry: WatchEntry, accept: bool, reason: str, user) -> WatchEntry:
    """Sales planning accepts or rejects an elimination proposal, with a reason; the office
    managers are told, and the VP when it is accepted."""
    reason = _bounded(reason, TEXT_MAX, _("Reason"))
    if not reason:
        raise ScoringError(_("Give a reason for the decision."))
    decision = ProposalStatus.ACCEPTED if accept else ProposalStatus.REJECTED
    with transaction.atomic():
        locked = _locked_entry(entry, user, Role.SALES_PLANNING)
        if locked.proposal == decision and locked.proposal_reason == reason:
            return locked  # the same decision sent twice
        if locked.proposal != ProposalStatus.PENDING:
            raise ScoringError(_("There is no elimination proposal to decide for this entry."))
        locked.proposal = decision
        locked.proposal_reason = reason
        locked.decided_by = user
        locked.decided_at = timezone.now()
        locked._history_user = user
        locked.save()
        _tell_decision(locked)
    return locked


def _tell_decision(entry: WatchEntry) -> None:
    dealer = entry.dealer
    title = (
        _("Elimination of %(dealer)s accepted")
        if entry.proposal == ProposalStatus.ACCEPTED
        else _("Elimination of %(dealer)s rejected")
    ) % {"dealer": dealer}
    recipients = [get_user_model()(pk=pk) for pk, _office in _office_managers([dealer.office_id])]
    if entry.proposal == ProposalStatus.ACCEPTED:
        recipients += list(get_user_model().objects.filter(groups__name=Role.MARKETING_VP, is_active=True))
    for user in recipients:
        notify(
            user=user,
            key=f"watch:decided:{entry.pk}",
            title=title,
            body=entry.proposal_reason,
            url=entry.get_absolute_url(),
        )


# Reading -------------------------------------------------------------------------------------

EXPORT_COLUMNS = ["dealer", "name", "office", "opened_quarter", "status", "plan_due", "proposal"]


def export_rows(entries):
    """DESIGN.md §6.2 `export_watchlist`, by dealer code (then the quarter the entry opened)."""
    for row in (
        entries.order_by("dealer__code", "opened_quarter")
        .values_list(
            "dealer__code",
            "dealer__name",
            "dealer__office__code",
            "opened_quarter",
            "status",
            "plan_due",
            "proposal",
        )
        .iterator(chunk_size=2000)
    ):
        yield [value if value != "" else None for value in row]


def plans_due(user, *, today: datetime.date, days: int = 7):
    """Open entries of the user's offices without a plan, or due within `days` or overdue."""
    return WatchEntry.objects.visible_to(user).filter(
        Q(plan_due__isnull=True) | Q(plan_due__lte=today + datetime.timedelta(days=days)),
        status=WatchStatus.OPEN,
    )
