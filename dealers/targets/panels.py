"""Customer-file sections and the dashboard panel for targets, sales and points (DESIGN.md §4)."""

import datetime
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from evalsys.periods import Quarter, add_months, format_month

from ..models import (
    AnnualAgreement,
    MonthlySales,
    MonthlyTarget,
    PointsEntry,
    PointsEntryKind,
    QuarterNote,
    TargetStatus,
    TargetVersion,
)
from ..roles import Role, has_role
from .points import points_balances
from .reminders import dealers_missing_target, targets_url
from .rules import (
    attainment,
    attainment_streak,
    exact_attainment,
    moving_average,
    target_deadline,
    yoy_growth,
)
from .services import (
    agreed_by_dealer_month,
    can_write_notes,
    deadline_day,
    dealers_missing_sales,
    negotiable_dealers,
    sales_by_dealer_month,
)
from .views import QuarterNoteForm

TREND_MONTHS = 12


def agreement_section(request, dealer):
    """This year's agreement: monthly targets, their running sum against the annual target, every version."""
    year = timezone.localdate().year
    agreement = AnnualAgreement.objects.filter(dealer=dealer, year=year).first()
    targets = {t.month: t for t in MonthlyTarget.objects.filter(dealer=dealer, month__year=year)}
    versions = {}
    for version in TargetVersion.objects.filter(
        target__dealer=dealer, target__month__year=year
    ).select_related("recorded_by", "target"):
        versions.setdefault(version.target.month, []).append(version)
    running, months = Decimal(0), []
    for number in range(1, 13):
        month = datetime.date(year, number, 1)
        target = targets.get(month)
        if target and target.status == TargetStatus.AGREED:
            running += target.agreed_amount
        months.append(
            {
                "label": format_month(month),
                "target": target,
                "running": running,
                "versions": versions.get(month, []),
            }
        )
    return {
        "template": "dealers/sections/agreement.html",
        "year": year,
        "agreement": agreement,
        "months": months,
        "agreed_total": running,
        "remaining": agreement.annual_target - running if agreement else None,
    }


def trend_section(request, dealer):
    """12 months of target against actual, 3-month moving average, year-on-year growth, streak."""
    last = add_months(timezone.localdate().replace(day=1), -1)
    first = add_months(last, -(TREND_MONTHS + 11))
    months = [add_months(first, n) for n in range(TREND_MONTHS + 12)]
    sales = dict(
        MonthlySales.objects.filter(dealer=dealer, month__gte=first, month__lte=last).values_list(
            "month", "amount"
        )
    )
    targets = dict(
        MonthlyTarget.objects.filter(
            dealer=dealer, month__gte=first, month__lte=last, status=TargetStatus.AGREED
        ).values_list("month", "agreed_amount")
    )
    actuals = [sales.get(m) for m in months]
    averages = moving_average(actuals)
    rows = []
    for index, month in enumerate(months[12:], start=12):
        actual, target = actuals[index], targets.get(month)
        rows.append(
            {
                "label": format_month(month),
                "target": target,
                "actual": actual,
                "attainment": attainment(actual, target),
                "average": averages[index],
                "yoy": yoy_growth(actual, actuals[index - 12]),
            }
        )
    streak = attainment_streak([exact_attainment(sales.get(m), targets.get(m)) for m in months])
    chart = {
        "labels": [r["label"] for r in rows],
        "target": [float(r["target"]) if r["target"] is not None else None for r in rows],
        "actual": [float(r["actual"]) if r["actual"] is not None else None for r in rows],
        "average": [float(r["average"]) if r["average"] is not None else None for r in rows],
    }
    return {
        "template": "dealers/sections/trend.html",
        "rows": rows,
        "streak": streak,
        "chart": chart,
        "chart_id": f"trend-{dealer.pk}",
        "chart_data_id": f"trend-{dealer.pk}-data",
    }


def points_section(request, dealer):
    entries = list(
        PointsEntry.objects.filter(dealer=dealer).select_related("created_by").order_by("-month", "-id")[:24]
    )
    balance = points_balances(dealer_ids=[dealer.pk], month=timezone.localdate()).get(dealer.pk)
    # what each month's points were earned on: its actual sales against its agreed target
    earned_months = [e.month for e in entries if e.kind == PointsEntryKind.EARNED]
    actuals = sales_by_dealer_month([dealer.pk], earned_months)
    targets = agreed_by_dealer_month([dealer.pk], earned_months)
    for entry in entries:
        if entry.kind == PointsEntryKind.EARNED:
            entry.actual = actuals.get((dealer.pk, entry.month))
            entry.target = targets.get((dealer.pk, entry.month))
            entry.attainment = attainment(entry.actual, entry.target)
    return {
        "template": "dealers/sections/points.html",
        "entries": entries,
        "balance": balance or Decimal("0"),
    }


def notes_section(request, dealer):
    quarter = Quarter.containing(timezone.localdate())
    notes = list(
        QuarterNote.objects.filter(dealer=dealer).select_related("updated_by").order_by("-quarter")[:8]
    )
    current = next((n for n in notes if n.quarter == str(quarter)), None)
    form = None
    if can_write_notes(request.user, dealer):
        form = QuarterNoteForm(
            initial={f: getattr(current, f) for f in ("potential", "obstacles", "capability", "effort")}
            if current
            else None
        )
    return {
        "template": "dealers/sections/quarter_notes.html",
        "notes": notes,
        "quarter": quarter,
        "form": form,
    }


def targets_panel(request):
    """For business and office managers: dealers still lacking next month's agreed target."""
    user = request.user
    if not has_role(user, Role.BUSINESS_MANAGER, Role.OFFICE_MANAGER):
        return None
    today = timezone.localdate()
    month = add_months(today.replace(day=1), 1)
    deadline = target_deadline(month, deadline_day())
    missing = dealers_missing_target(month).filter(pk__in=negotiable_dealers(user).values("pk"))
    count = missing.count()
    return {
        "template": "dealers/panels/targets.html",
        "month_label": format_month(month),
        "deadline": deadline,
        "days_left": (deadline - today).days,
        "missing": list(missing.order_by("code").values("code", "name")[:10]) if count else [],
        "more": count > 10,
        "count": count,
        "url": targets_url(month),
    }


def sales_panel(request):
    """For statisticians: how many dealers in the network still lack last month's sales figures."""
    user = request.user
    if not has_role(user, Role.STATISTICIAN):
        return None
    month = add_months(timezone.localdate().replace(day=1), -1)
    missing = dealers_missing_sales(user, month).count()
    return {
        "template": "dealers/panels/sales.html",
        "month_label": format_month(month),
        "missing": missing,
        "missing_url": f"{reverse('targets:missing_sales')}?month={format_month(month)}",
        "import_url": reverse("targets:sales_import"),
    }
