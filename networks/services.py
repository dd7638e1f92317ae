"""State changes and set-wise computations of the networks app (DESIGN.md §5)."""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, DecimalField, F, FilteredRelation, Q, Sum, Value, Window
from django.db.models.functions import Coalesce, RowNumber
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from dealers import versions
from dealers.models import Dealer, DealerStatus, Office, in_network_q
from dealers.notifications import notify, notify_with_email
from dealers.roles import Role
from dealers.selectors import office_on_expression
from evalsys.periods import Quarter
from scoring.models import Change, Grade

from . import rules
from .models import ChurnReason, ChurnReport, NetworkSummary, OfficeAudit, SummaryStatus, Verification, Visit
from .selectors import dealers_of_offices_on, dealers_touching_offices

# Metrics ---------------------------------------------------------------------


def compute_metrics(*, quarter: Quarter, office_ids=None) -> dict[int, rules.NetworkMetrics]:
    """§5's metrics of every office (or of `office_ids`) for `quarter`, keyed by office id.

    Each dealer counts for the office it belonged to on the quarter's last day, and the
    dealers in the network at the end of the previous quarter and of the year before for the
    office they belonged to on those days, so a later move leaves a past quarter as it was.
    A visit counts for the office its dealer belonged to at the quarter's end.

    Computed, they are cached under the versions of the tables they read (`dealers.versions`):
    two queries (the offices, the versions) while nothing they read changed. Computing takes
    five queries whatever the number of offices and dealers (and the versions): the offices; their dealers
    counted by their offices at the quarter's end, at the previous quarter's end and a year
    before; the quarter's visits counted per office; the key-customer candidates, ranked per
    office by a window function so that only the top 20 of each office leave the database;
    and the churn reports of the dealers churned within the quarter, for the days to report.
    """
    offices = Office.objects.all()
    if office_ids is not None:
        offices = offices.filter(pk__in=office_ids)
    office_list = list(offices.order_by("code").values_list("pk", flat=True))
    return versions.cached(
        ("network-metrics", str(quarter), tuple(office_list)),
        [
            versions.DEALERS,
            versions.MOVES,
            versions.SALES,
            versions.CHURN_REPORTS,
            versions.VISITS,
            versions.quarter_version(versions.VISITS, quarter),
        ],
        lambda: _compute_metrics(quarter, office_list),
    )


def _compute_metrics(quarter: Quarter, office_list: list[int]) -> dict[int, rules.NetworkMetrics]:
    prev, year_before = quarter.previous(), quarter.year_before()
    dealers = dealers_of_offices_on(quarter.end, office_list)

    # one row per combination of offices on the three days, counted into each office
    counts = defaultdict(lambda: defaultdict(int))
    for row in (
        dealers_touching_offices(office_list)
        .annotate(
            at_end=office_on_expression(quarter.end),
            at_prev=office_on_expression(prev.end),
            at_year_before=office_on_expression(year_before.end),
        )
        .values("at_end", "at_prev", "at_year_before")
        .annotate(
            active_end=Count("pk", filter=in_network_q(quarter.end)),
            active_prev=Count("pk", filter=in_network_q(prev.end)),
            active_year_before=Count("pk", filter=in_network_q(year_before.end)),
            new=Count("pk", filter=Q(joined__range=(quarter.start, quarter.end))),
            churned=Count("pk", filter=Q(churned_on__range=(quarter.start, quarter.end))),
        )
        .order_by()
    ):
        for name in ("active_end", "new", "churned"):
            counts[row["at_end"]][name] += row[name]
        counts[row["at_prev"]]["active_prev"] += row["active_prev"]
        counts[row["at_year_before"]]["active_year_before"] += row["active_year_before"]
    visits = {
        row["office_at"]: row
        for row in Visit.objects.filter(
            dealer__in=dealers.values("pk"), date__range=(quarter.start, quarter.end)
        )
        .annotate(office_at=office_on_expression(quarter.end, dealer="dealer_id", office="dealer__office_id"))
        .values("office_at")
        .annotate(
            visits=Count("pk"),
            effect_total=Sum("effect"),
            visited=Count("dealer_id", distinct=True, filter=in_network_q(quarter.end, "dealer__")),
        )
        .order_by()
    }

    def sales_in(months):
        return Coalesce(
            Sum("window_sales__amount", filter=Q(window_sales__month__in=months)),
            Value(rules.ZERO),
            output_field=DecimalField(max_digits=16, decimal_places=2),
        )

    candidates = (
        dealers.filter(in_network_q(quarter.end))
        .annotate(
            window_sales=FilteredRelation(
                "sales", condition=Q(sales__month__in=quarter.months + prev.months + year_before.months)
            )
        )
        .annotate(
            sales_now=sales_in(quarter.months),
            sales_prev=sales_in(prev.months),
            sales_year_before=sales_in(year_before.months),
        )
        .annotate(
            rank=Window(
                RowNumber(), partition_by=F("office_at"), order_by=[F("sales_now").desc(), F("code").asc()]
            )
        )
        .filter(rank__lte=rules.KEY_CUSTOMER_COUNT)
        .values_list(
            "office_at", "code", "joined", "churned_on", "sales_now", "sales_prev", "sales_year_before"
        )
    )
    key_by_office = {}
    for office_id, code, joined, churned_on, sales, sales_prev, sales_year_before in candidates:
        key_by_office.setdefault(office_id, []).append(
            rules.DealerFacts(code, joined, churned_on, sales, sales_prev, sales_year_before)
        )

    report_days = {}
    for office_id, churned_on, reported_at in (
        ChurnReport.objects.filter(
            dealer__in=dealers.values("pk"), dealer__churned_on__range=(quarter.start, quarter.end)
        )
        .annotate(office_at=office_on_expression(quarter.end, dealer="dealer_id", office="dealer__office_id"))
        .values_list("office_at", "dealer__churned_on", "reported_at")
    ):
        days = rules.days_to_report(churned_on, timezone.localtime(reported_at).date())
        report_days.setdefault(office_id, []).append(days)

    metrics = {}
    for office_id in office_list:
        count = counts.get(office_id, {})
        visit = visits.get(office_id, {})
        metrics[office_id] = rules.network_metrics(
            active_end=count.get("active_end", 0),
            active_prev=count.get("active_prev", 0),
            active_year_before=count.get("active_year_before", 0),
            new=count.get("new", 0),
            churned=count.get("churned", 0),
            candidates=key_by_office.get(office_id, []),
            visits=visit.get("visits", 0),
            effect_total=visit.get("effect_total") or 0,
            visited=visit.get("visited", 0),
            report_days=report_days.get(office_id, []),
        )
    return metrics


def metrics_table(*, quarter: Quarter, offices) -> tuple[list[str], list[list]]:
    """The export of DESIGN §6.2: `quarter, office`, then §5's metrics, one row per office by code."""
    offices = list(offices.order_by("code"))
    metrics = compute_metrics(quarter=quarter, office_ids=[o.pk for o in offices])
    rows = [[str(quarter), office.code, *metrics[office.pk].values()] for office in offices]
    return ["quarter", "office", *rules.METRIC_NAMES], rows


def abc_movements(*, office_ids, quarter: Quarter) -> dict[int, list[dict]]:
    """The dealers whose final class moved up or down, or who were classed for the first time, per office id."""
    rows = (
        Grade.objects.filter(
            office_id__in=office_ids, quarter=str(quarter), change__in=[Change.UP, Change.DOWN, Change.NEW]
        )
        .order_by("dealer__code")
        .values("office_id", "dealer__code", "dealer__name", "previous_class", "final_class", "change")
    )
    movements = {}
    for row in rows:
        movements.setdefault(row["office_id"], []).append(
            {
                "dealer": row["dealer__code"],
                "name": row["dealer__name"],
                "previous_class": row["previous_class"],
                "final_class": row["final_class"],
                "change": row["change"],
            }
        )
    return movements


def churn_lists(*, office_ids, quarter: Quarter) -> dict[int, list[dict]]:
    """The dealers that churned within `quarter`, with their report's reason and verification,
    per office they belonged to at the quarter's end."""
    rows = (
        dealers_of_offices_on(quarter.end, list(office_ids))
        .filter(churned_on__range=(quarter.start, quarter.end))
        .order_by("code")
        .values(
            "office_at",
            "code",
            "name",
            "churned_on",
            "churn_report__reason",
            "churn_report__verification",
            "churn_report__narrative",
        )
    )
    lists = {}
    for row in rows:
        lists.setdefault(row["office_at"], []).append(
            {
                "dealer": row["code"],
                "name": row["name"],
                "churned_on": row["churned_on"].isoformat(),
                "reason": row["churn_report__reason"] or "",
                "verification": row["churn_report__verification"] or "",
                "narrative": row["churn_report__narrative"] or "",
            }
        )
    return lists


# Visits ----------------------------------------------------------------------


@transaction.atomic
def log_visit(
    *,
    dealer: Dealer,
    visitor,
    date: datetime.date,
    purpose: str,
    effect: int,
    findings: str = "",
    follow_up: str = "",
    token=None,
) -> Visit:
    """Record a visit; a `token` already used by this visitor returns that visit instead of a second one."""
    if token is not None:
        sent_before = Visit.objects.filter(submission=token, visitor=visitor).select_related("dealer").first()
        if sent_before is not None:
            return sent_before
    errors = {}
    if date > timezone.localdate():
        errors["date"] = _("A visit cannot be in the future.")
    if date < dealer.joined:
        errors["date"] = _("The dealer joined only on %(day)s.") % {"day": dealer.joined}
    if effect not in range(1, 6):
        errors["effect"] = _("The effect rating is 1 to 5.")
    if not purpose.strip():
        errors["purpose"] = _("Say what the visit was for.")
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            return Visit.objects.create(
                dealer=dealer,
                visitor=visitor,
                date=date,
                purpose=purpose.strip(),
                effect=effect,
                findings=findings.strip(),
                follow_up=follow_up.strip(),
                submission=token,
            )
    except IntegrityError:
        # The same form's other request won the race: its visit is this one.
        sent_before = Visit.objects.filter(submission=token, visitor=visitor).first()
        if token is None or sent_before is None:
            raise ValidationError(_("This form was already used; open the visit form again.")) from None
        return sent_before


# Churn -----------------------------------------------------------------------


@transaction.atomic
def report_churn(
    *,
    dealer: Dealer,
    reason: str,
    narrative: str,
    last_sales_month: datetime.date | None,
    by,
    churned_on: datetime.date | None = None,
) -> ChurnReport:
    """Mark `dealer` churned (unless it already is) together with its complete churn report.

    A report awaiting verification may be corrected; a verified one is final.
    """
    dealer = Dealer.objects.select_for_update().get(pk=dealer.pk)
    report = ChurnReport.objects.filter(dealer=dealer).first()
    errors = {}
    if report and report.verification != Verification.PENDING:
        raise ValidationError(_("This churn report has been verified and cannot be changed."))
    if reason not in ChurnReason.values:
        errors["reason"] = _("Choose the reason the dealer was lost.")
    if not (narrative or "").strip():
        errors["narrative"] = _("Describe how the dealer was lost.")
    if last_sales_month is None:
        errors["last_sales_month"] = _("Give the last month with sales.")
    if dealer.status == DealerStatus.CHURNED:
        churned_on = dealer.churned_on
    elif churned_on is None:
        errors["churned_on"] = _("Give the date the dealer was lost.")
    elif churned_on > timezone.localdate():
        errors["churned_on"] = _("The churn date cannot be in the future.")
    elif churned_on < dealer.joined:
        errors["churned_on"] = _("The churn date is before the dealer joined.")
    if churned_on and last_sales_month and last_sales_month > churned_on.replace(day=1):
        errors["last_sales_month"] = _("The last sales month is after the churn date.")
    if errors:
        raise ValidationError(errors)
    if dealer.status != DealerStatus.CHURNED:
        dealer.status = DealerStatus.CHURNED
        dealer.churned_on = churned_on
        dealer._history_user = by
        dealer.save(update_fields=["status", "churned_on"])
    filed = report is None
    report = report or ChurnReport(dealer=dealer, reported_at=timezone.now())
    report.reason = reason
    report.narrative = narrative.strip()
    report.last_sales_month = last_sales_month.replace(day=1)
    report.reported_by = by
    report._history_user = by
    report.save()
    if filed:
        transaction.on_commit(lambda: tell_sales_planning_of_churn(report=report))
    return report


def tell_sales_planning_of_churn(*, report: ChurnReport) -> int:
    """E-mail and notify every active sales planner of a newly filed churn report, once each."""
    dealer = report.dealer
    days = rules.days_to_report(dealer.churned_on, timezone.localtime(report.reported_at).date())
    title = _("Churn report filed: %(dealer)s (%(office)s)") % {
        "dealer": dealer,
        "office": dealer.office.name,
    }
    body = _("%(reason)s. Churned on %(day)s, reported %(days)s days later: %(narrative)s") % {
        "reason": report.get_reason_display(),
        "day": dealer.churned_on.isoformat(),
        "days": days,
        "narrative": report.narrative,
    }
    sent = 0
    for user in get_user_model().objects.filter(groups__name=Role.SALES_PLANNING, is_active=True).distinct():
        sent += notify_with_email(
            user=user, key=f"churn-filed:{report.pk}", title=title, body=body, url=report.get_absolute_url()
        )
    return sent


@transaction.atomic
def verify_churn_report(
    *, report: ChurnReport, verification: str, comment: str, countermeasures: str, by
) -> ChurnReport:
    """Sales planning confirms or disputes a churn report and records countermeasures."""
    errors = {}
    if verification not in (Verification.CONFIRMED, Verification.DISPUTED):
        errors["verification"] = _("Confirm or dispute the report.")
    if verification == Verification.DISPUTED and not comment.strip():
        errors["comment"] = _("Say why the report is disputed.")
    if errors:
        raise ValidationError(errors)
    report.verification = verification
    report.verification_comment = comment.strip()
    report.countermeasures = countermeasures.strip()
    report.verified_by = by
    report.verified_at = timezone.now()
    report._history_user = by
    report.save()
    if report.reported_by_id and report.reported_by_id != by.pk:
        transaction.on_commit(
            lambda: notify(
                user=report.reported_by,
                key=f"churn-verified:{report.pk}:{report.verified_at.isoformat()}",
                title=_("Churn report of %(dealer)s: %(verification)s")
                % {"dealer": report.dealer.code, "verification": report.get_verification_display()},
                body=report.verification_comment,
                url=report.get_absolute_url(),
            )
        )
    return report


# Audits ----------------------------------------------------------------------


@transaction.atomic
def record_audit(
    *,
    office: Office,
    quarter: Quarter,
    customer_growth_rating: Decimal,
    key_customer_growth_rating: Decimal,
    maintenance_rating: Decimal,
    findings: str,
    by,
) -> OfficeAudit:
    """Record (or re-record) an office's audit, freezing the metrics as they are now."""
    ratings = (customer_growth_rating, key_customer_growth_rating, maintenance_rating)
    if any(r is None or not 0 <= r <= 100 for r in ratings):
        raise ValidationError(_("Ratings are from 0 to 100."))
    metrics = compute_metrics(quarter=quarter, office_ids=[office.pk])[office.pk]
    audit = OfficeAudit.objects.filter(office=office, quarter=str(quarter)).first() or OfficeAudit(
        office=office, quarter=str(quarter)
    )
    audit.metrics = metrics.as_json()
    audit.customer_growth_rating = customer_growth_rating
    audit.key_customer_growth_rating = key_customer_growth_rating
    audit.maintenance_rating = maintenance_rating
    audit.score = rules.audit_score(*ratings)
    audit.findings = findings.strip()
    audit.audited_by = by
    audit.audited_at = timezone.now()
    audit._history_user = by
    audit.save()
    return audit


# Summaries -------------------------------------------------------------------


def _drafts(*, quarter: Quarter, office_ids=None) -> dict[int, dict]:
    """What a draft summary of `quarter` holds for each office (or `office_ids`): its metrics,
    churn list and ABC movements as they are now. Reads only, a fixed number of queries."""
    metrics = compute_metrics(quarter=quarter, office_ids=office_ids)
    ids = list(metrics)
    churn = churn_lists(office_ids=ids, quarter=quarter)
    movements = abc_movements(office_ids=ids, quarter=quarter)
    return {
        office_id: {
            "metrics": office_metrics.as_json(),
            "churn_list": churn.get(office_id, []),
            "abc_movements": movements.get(office_id, []),
        }
        for office_id, office_metrics in metrics.items()
    }


@transaction.atomic
def draft_summaries(*, quarter: Quarter, office_ids=None) -> list[NetworkSummary]:
    """Create or refresh the draft summaries of `quarter` for every office (or `office_ids`).

    Run by the quarterly job and when the office manager saves; never by a page being read.
    Submitted summaries are left as submitted. A fixed number of queries in all.
    """
    drafts = _drafts(quarter=quarter, office_ids=office_ids)
    ids = list(drafts)
    existing = {
        s.office_id: s
        for s in NetworkSummary.objects.select_for_update().filter(office_id__in=ids, quarter=str(quarter))
    }
    now = timezone.now()
    new, changed = [], []
    for office_id, draft in drafts.items():
        summary = existing.get(office_id)
        if summary is None:
            new.append(NetworkSummary(office_id=office_id, quarter=str(quarter), drafted_at=now, **draft))
        elif summary.status == SummaryStatus.DRAFT and any(
            getattr(summary, name) != value for name, value in draft.items()
        ):
            for name, value in draft.items():
                setattr(summary, name, value)
            summary.drafted_at = now
            changed.append(summary)
    bulk_create_with_history(new, NetworkSummary, batch_size=500)
    if changed:
        bulk_update_with_history(
            changed, NetworkSummary, ["metrics", "churn_list", "abc_movements", "drafted_at"], batch_size=500
        )
    return list(
        NetworkSummary.objects.filter(office_id__in=ids, quarter=str(quarter)).select_related("office")
    )


def summary_for(*, office: Office, quarter: Quarter) -> NetworkSummary:
    """The office's summary of `quarter` for reading: a submitted one as it is; a draft, or one
    not drafted yet, with the figures as they are now. Nothing is saved (a GET never writes)."""
    summary = (
        NetworkSummary.objects.filter(office=office, quarter=str(quarter)).select_related("office").first()
    )
    if summary is not None and summary.status != SummaryStatus.DRAFT:
        return summary
    summary = summary or NetworkSummary(office=office, quarter=str(quarter))
    for name, value in _drafts(quarter=quarter, office_ids=[office.pk])[office.pk].items():
        setattr(summary, name, value)
    summary.drafted_at = timezone.now()
    return summary


def announce_summary_drafts(*, summaries) -> int:
    """Tell each office manager that his office's draft is ready; sent once per summary."""
    drafts = {s.office_id: s for s in summaries if s.status == SummaryStatus.DRAFT}
    managers = (
        get_user_model()
        .objects.filter(groups__name=Role.OFFICE_MANAGER, is_active=True, staff_profile__office_id__in=drafts)
        .values_list("pk", "staff_profile__office_id")
    )
    users = get_user_model().objects.in_bulk([pk for pk, _office in managers])
    sent = 0
    for pk, office_id in managers:
        summary = drafts[office_id]
        sent += notify(
            user=users[pk],
            key=f"summary-drafted:{summary.pk}",
            title=_("The network summary %(quarter)s is drafted: add your analysis and submit it")
            % {"quarter": summary.quarter},
            url=reverse("networks:summary", args=[summary.office.code, summary.quarter]),
        )
    return sent


@transaction.atomic
def save_summary(
    *, summary: NetworkSummary, analysis: str, problems: str, next_steps: str, submit: bool, by
) -> NetworkSummary:
    """The office manager's text, saved with the figures as they are now (the summary is
    created if the job has not drafted it yet); with `submit`, it goes to sales planning."""
    quarter = Quarter.parse(summary.quarter)
    draft_summaries(quarter=quarter, office_ids=[summary.office_id])
    summary = (
        NetworkSummary.objects.select_for_update()
        .select_related("office")
        .get(office_id=summary.office_id, quarter=str(quarter))
    )
    if summary.status != SummaryStatus.DRAFT:
        raise ValidationError(_("This summary has been submitted and can no longer be changed."))
    summary.analysis = analysis.strip()
    summary.problems = problems.strip()
    summary.next_steps = next_steps.strip()
    if submit:
        missing = {
            name: _("Required before submitting.")
            for name in ("analysis", "problems", "next_steps")
            if not getattr(summary, name)
        }
        if missing:
            raise ValidationError(missing)
        summary.status = SummaryStatus.SUBMITTED
        summary.submitted_by = by
        summary.submitted_at = timezone.now()
    summary._history_user = by
    summary.save()
    if not submit:
        return summary
    planners = list(get_user_model().objects.filter(groups__name=Role.SALES_PLANNING, is_active=True))
    url = reverse("networks:summary", args=[summary.office.code, summary.quarter])
    title = _("Network summary %(quarter)s of %(office)s submitted") % {
        "quarter": summary.quarter,
        "office": summary.office.name,
    }
    transaction.on_commit(
        lambda: [
            notify(user=user, key=f"summary-submitted:{summary.pk}", title=title, url=url)
            for user in planners
        ]
    )
    return summary


@transaction.atomic
def comment_summary(*, summary: NetworkSummary, comment: str, by) -> NetworkSummary:
    """Sales planning's comment on a submitted summary."""
    if summary.status != SummaryStatus.SUBMITTED:
        raise ValidationError(_("Only a submitted summary can be commented on."))
    if not comment.strip():
        raise ValidationError({"comment": _("Write a comment.")})
    summary.planning_comment = comment.strip()
    summary.commented_by = by
    summary.commented_at = timezone.now()
    summary._history_user = by
    summary.save(update_fields=["planning_comment", "commented_by", "commented_at"])
    if summary.submitted_by_id:
        transaction.on_commit(
            lambda: notify(
                user=summary.submitted_by,
                key=f"summary-commented:{summary.pk}:{summary.commented_at.isoformat()}",
                title=_("Sales planning commented on the network summary %(quarter)s")
                % {"quarter": summary.quarter},
                body=summary.planning_comment,
                url=reverse("networks:summary", args=[summary.office.code, summary.quarter]),
            )
        )
    return summary
