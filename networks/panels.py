"""Dashboard panels and customer-file sections of the networks app."""

from django.db.models import Avg, Count
from django.utils import timezone

from dealers.models import Dealer, Office
from dealers.roles import Role, allowed, has_role, office_id_of
from evalsys.periods import quarter_just_ended

from . import rules, selectors
from .models import ChurnReport, NetworkSummary, OfficeAudit, SummaryStatus, Visit

WORKLIST_LENGTH = 10


def visit_reminder(request):
    """A business manager's dealers not visited for 30 days, with the button to log a visit."""
    user = request.user
    if not has_role(user, Role.BUSINESS_MANAGER):
        return None
    today = timezone.localdate()
    late = selectors.not_visited(
        dealers=Dealer.objects.visible_to(user).filter(business_manager=user), today=today
    )
    return {
        "template": "networks/panels/visit_reminder.html",
        "late_count": late.count(),
        "month_visits": Visit.objects.filter(visitor=user, date__gte=today.replace(day=1)).count(),
        "days": selectors.NOT_VISITED_DAYS,
    }


def churn_worklist(request):
    """Churned dealers without a report and reports awaiting verification, until dealt with."""
    user = request.user
    if not allowed(user, Role.OFFICE_MANAGER, Role.SALES_PLANNING):
        return None
    without_report = selectors.churned_without_report(user)
    pending = selectors.awaiting_verification(user)
    return {
        "template": "networks/panels/churn_worklist.html",
        "without_report": list(without_report[:WORKLIST_LENGTH]),
        "without_report_count": without_report.count(),
        "pending": list(pending[:WORKLIST_LENGTH]),
        "pending_count": pending.count(),
        "can_report": allowed(user, Role.OFFICE_MANAGER),
        "can_verify": allowed(user, Role.SALES_PLANNING),
    }


def suspected_churn(request):
    """The office's dealers without sales rows for the last two complete months (a business manager: his own)."""
    user = request.user
    if allowed(user, Role.OFFICE_MANAGER):
        dealers = Dealer.objects.visible_to(user)
    elif has_role(user, Role.BUSINESS_MANAGER):
        dealers = Dealer.objects.visible_to(user).filter(business_manager=user)
    else:
        return None
    today = timezone.localdate()
    suspected = selectors.suspected_churn(dealers, today=today)
    return {
        "template": "networks/panels/suspected_churn.html",
        "dealers": list(suspected.select_related("office")[:WORKLIST_LENGTH]),
        "count": suspected.count(),
        "months": rules.last_complete_months(today),
        "can_report": selectors.visit_dealers(user).exists()
        and allowed(user, Role.OFFICE_MANAGER, Role.BUSINESS_MANAGER),
    }


def summary_status(request):
    """The office manager's summary of last quarter; sales planning's submitted summaries to read."""
    user = request.user
    quarter = quarter_just_ended()
    if has_role(user, Role.OFFICE_MANAGER) and office_id_of(user):
        summary = (
            NetworkSummary.objects.filter(office_id=office_id_of(user), quarter=str(quarter))
            .only("status", "submitted_at")
            .first()
        )
        return {
            "template": "networks/panels/summary_status.html",
            "quarter": quarter,
            "summary": summary,
        }
    if allowed(user, Role.SALES_PLANNING):
        to_read = (
            NetworkSummary.objects.filter(status=SummaryStatus.SUBMITTED, commented_at__isnull=True)
            .select_related("office")
            .order_by("submitted_at")
        )
        return {
            "template": "networks/panels/summaries_to_read.html",
            "summaries": list(to_read[:WORKLIST_LENGTH]),
            "count": to_read.count(),
        }
    return None


def audit_status(request):
    """For the VP: last quarter's offices whose network has not been audited yet."""
    user = request.user
    if not has_role(user, Role.MARKETING_VP):
        return None
    quarter = quarter_just_ended()
    unaudited = list(
        Office.objects.visible_to(user)
        .exclude(pk__in=OfficeAudit.objects.filter(quarter=str(quarter)).values("office_id"))
        .order_by("code")
    )
    return {"template": "networks/panels/audit_status.html", "quarter": quarter, "unaudited": unaudited}


def dealer_visits(request, dealer):
    visits = Visit.objects.filter(dealer=dealer).select_related("visitor")
    stats = visits.aggregate(count=Count("pk"), mean_effect=Avg("effect"))
    can_log = selectors.acts_for(request.user, dealer)
    return {
        "template": "networks/sections/visits.html",
        "visits": list(visits[:10]),
        "stats": stats,
        "can_log": can_log and dealer.churned_on is None,
        "dealer": dealer,
    }


def dealer_churn(request, dealer):
    report = ChurnReport.objects.filter(dealer=dealer).select_related("reported_by", "verified_by").first()
    can_report = selectors.acts_for(request.user, dealer)
    if report is None and dealer.churned_on is None and not can_report:
        return None
    return {
        "template": "networks/sections/churn.html",
        "report": report,
        "dealer": dealer,
        "can_report": can_report,
    }
