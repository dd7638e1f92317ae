"""Dashboard panels and customer-file sections of the dealers app."""

from django.contrib.auth import get_user_model
from django.db.models import Count

from evalsys.fragments import fragment_digest

from . import versions
from .models import Dealer, DealerKind, DealerStatus, Office
from .roles import display_name, office_id_of, sees_all_offices


def dealer_counts(request):
    """The user's dealers by kind and status; per office for those who see every office."""
    user = request.user
    rows = _counts(user)
    matrix = {kind: dict.fromkeys(DealerStatus.values, 0) for kind in DealerKind.values}
    for row in rows:
        matrix[row["kind"]][row["status"]] += row["n"]
    totals = {"total": sum(row["n"] for row in rows)}
    for kind in DealerKind.values:
        totals[kind] = sum(matrix[kind].values())
    for status in DealerStatus.values:
        totals[status] = sum(matrix[kind][status] for kind in DealerKind.values)
    by_kind = [
        {
            "kind": kind,
            "label": label,
            "total": totals[kind],
            "statuses": [matrix[kind][status] for status in DealerStatus.values],
        }
        for kind, label in DealerKind.choices
    ]
    all_offices = sees_all_offices(user)
    panel = {
        "template": "dealers/panels/dealer_counts.html",
        "totals": totals,
        "by_kind": by_kind,
        "statuses": DealerStatus.choices,
        "status_totals": [totals[status] for status in DealerStatus.values],
        "offices": _per_office(rows) if all_offices else [],
        "all_offices": all_offices,
    }
    # rendered once per content (evalsys.fragments): 200 offices' rows for those who see all
    panel["digest"] = fragment_digest(panel)
    return panel


def _counts(user) -> list[dict]:
    """The user's dealers counted by office, kind and status, by office code: the counts cached
    under the dealers' data version (`versions`), the offices' codes and names read live."""
    scope = "all" if sees_all_offices(user) else office_id_of(user)
    counts = versions.cached(
        ("dealer-counts", scope),
        [versions.DEALERS],
        lambda: list(
            Dealer.objects.visible_to(user)
            .values("office_id", "kind", "status")
            .annotate(n=Count("id"))
            .order_by()
        ),
    )
    offices = {
        o["id"]: o
        for o in Office.objects.filter(pk__in={c["office_id"] for c in counts}).values("id", "code", "name")
    }
    rows = [
        {
            **c,
            "office__code": offices[c["office_id"]]["code"],
            "office__name": offices[c["office_id"]]["name"],
        }
        for c in counts
    ]
    return sorted(rows, key=lambda r: r["office__code"])


def master_data(request, dealer):
    moves = list(dealer.moves.select_related("from_office", "to_office").order_by("moved_on", "id"))
    return {"template": "dealers/sections/master_data.html", "dealer": dealer, "moves": moves}


def dealer_history(request, dealer):
    records = list(
        dealer.history.select_related("history_user").order_by("-history_date", "-history_id")[:51]
    )
    diffs = []
    for newer, older in zip(records, records[1:] + [None], strict=False):
        diffs.append(newer.diff_against(older).changes if older is not None else [])
    display = _display_values(diffs)
    changes = [
        {
            "record": record,
            "diff": [
                {
                    "field": Dealer._meta.get_field(change.field).verbose_name,
                    "old": display(change.field, change.old),
                    "new": display(change.field, change.new),
                }
                for change in diff
            ],
        }
        for record, diff in zip(records[:50], diffs, strict=False)
    ]
    return {"template": "dealers/sections/history.html", "changes": changes}


def _display_values(diffs):
    """How a changed value reads: labels for choices, names for offices and users (two queries)."""
    ids = {"office": set(), "business_manager": set()}
    for diff in diffs:
        for change in diff:
            if change.field in ids:
                ids[change.field].update(v for v in (change.old, change.new) if v is not None)
    offices = Office.objects.in_bulk(ids["office"]) if ids["office"] else {}
    users = get_user_model().objects.in_bulk(ids["business_manager"]) if ids["business_manager"] else {}
    choices = {"kind": dict(DealerKind.choices), "status": dict(DealerStatus.choices)}

    def display(field, value):
        if value is None or value == "":
            return None
        if field == "office":
            return offices.get(value, value)
        if field == "business_manager":
            user = users.get(value)
            return display_name(user) if user else value
        if field in choices:
            return choices[field].get(value, value)
        return value

    return display


def _per_office(rows):
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
