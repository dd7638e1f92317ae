"""Dashboard panels and customer-file sections of the dealers app."""

from django.db.models import Count

from .models import Dealer, DealerKind, DealerStatus


def dealer_counts(request):
    offices = office_counts(request.user)
    totals = {}
    for office in offices:
        for key, value in office.items():
            if isinstance(value, int):
                totals[key] = totals.get(key, 0) + value
    return {"template": "dealers/panels/dealer_counts.html", "offices": offices, "totals": totals}


def master_data(request, dealer):
    return {"template": "dealers/sections/master_data.html", "dealer": dealer}


def dealer_history(request, dealer):
    records = list(
        dealer.history.select_related("history_user").order_by("-history_date", "-history_id")[:51]
    )
    changes = []
    for newer, older in zip(records, records[1:] + [None], strict=False):
        if older is None:
            changes.append({"record": newer, "diff": None})
        else:
            changes.append({"record": newer, "diff": newer.diff_against(older).changes})
    return {"template": "dealers/sections/history.html", "changes": changes[:50]}


def office_counts(user):
    """Dealers of the offices the user sees, by kind and status: one aggregate query."""
    rows = (
        Dealer.objects.visible_to(user)
        .values("office_id", "office__code", "office__name", "kind", "status")
        .annotate(n=Count("id"))
        .order_by("office__code")
    )
    offices = {}
    for row in rows:
        office = offices.setdefault(
            row["office__code"],
            {
                "id": row["office_id"],
                "code": row["office__code"],
                "name": row["office__name"],
                "total": 0,
                **dict.fromkeys(DealerKind.values, 0),
                **dict.fromkeys(DealerStatus.values, 0),
            },
        )
        office["total"] += row["n"]
        office[row["kind"]] += row["n"]
        office[row["status"]] += row["n"]
    return list(offices.values())
