"""The follow-through's dashboard panel and customer-file section."""

from django.db.models import Count, Sum
from django.utils import timezone

from dealers.roles import Role, has_role, sees_all_offices

from . import watchlist
from .models import Appeal, AppealStatus, ProposalStatus, SupportEntry, WatchEntry

SHOWN = 8


def followup_panel(request):
    """Office manager: plans to write or due; sales planning: proposals and appeals to decide;
    VP: accepted eliminations. Counts and the first few of each, in a fixed number of queries."""
    user = request.user
    blocks = {}
    if has_role(user, Role.OFFICE_MANAGER) and not sees_all_offices(user):
        due = watchlist.plans_due(user, today=timezone.localdate()).select_related("dealer")
        blocks["plans_due"] = list(due.order_by("plan_due", "dealer__code")[:SHOWN])
        blocks["plans_due_count"] = due.count()
        blocks["open_appeals_count"] = (
            Appeal.objects.visible_to(user).filter(status=AppealStatus.OPEN).count()
        )
    if user.is_superuser or has_role(user, Role.SALES_PLANNING):
        pending = WatchEntry.objects.filter(proposal=ProposalStatus.PENDING).select_related("dealer__office")
        blocks["proposals"] = list(pending.order_by("dealer__code")[:SHOWN])
        blocks["proposals_count"] = pending.count()
        appeals = Appeal.objects.filter(status=AppealStatus.OPEN).select_related("dealer__office")
        blocks["appeals"] = list(appeals.order_by("requested_at")[:SHOWN])
        blocks["appeals_count"] = appeals.count()
    if has_role(user, Role.MARKETING_VP):
        accepted = WatchEntry.objects.filter(proposal=ProposalStatus.ACCEPTED).select_related(
            "dealer__office"
        )
        blocks["accepted"] = list(accepted.order_by("-decided_at")[:SHOWN])
        blocks["accepted_count"] = accepted.count()
    if not blocks:
        return None
    return {"template": "scoring/followup/panels/followup.html", "today": timezone.localdate(), **blocks}


def dealer_followup(request, dealer):
    """Support received by quarter, watch-list entries with their plans, appeals."""
    entries = list(
        WatchEntry.objects.filter(dealer=dealer)
        .select_related("plan_updated_by", "decided_by")
        .prefetch_related("notes")
        .order_by("-opened_quarter")[:10]
    )
    appeals = list(
        Appeal.objects.filter(dealer=dealer).select_related("requested_by").order_by("-requested_at")[:10]
    )
    support = list(SupportEntry.objects.filter(dealer=dealer).order_by("-date", "-id")[:10])
    totals = SupportEntry.objects.filter(dealer=dealer).aggregate(count=Count("id"), value=Sum("value"))
    return {
        "template": "scoring/followup/sections/followup.html",
        "dealer": dealer,
        "watch_entries": entries,
        "appeals": appeals,
        "support": support,
        "support_totals": totals,
    }
