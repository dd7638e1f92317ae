"""Pages of DESIGN.md §5a's insight: the what-if, calibration across offices, class movements."""

from django.contrib import messages
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from dealers.access import role_required
from dealers.models import DealerKind, Office
from dealers.roles import Role, allowed, sees_all_offices
from evalsys import reports
from evalsys.fragments import fragment_digest
from evalsys.pagination import paginate
from evalsys.periods import Quarter
from evalsys.tabular import export_response

from ..models import Indicator, QuarterGrading
from ..services import ScoringError
from . import calibration as calibration_service
from . import movements as movement_service
from . import rules, whatif
from .forms import ChangeFilterForm, DraftForm, effective_quarters

COMPANY = (Role.SALES_PLANNING, Role.MARKETING_VP)
QUARTERS_SHOWN = 8
CLASS_LABELS = {"A": "A", "B": "B", "C": "C"}


def _can_try(user) -> bool:
    """Sales planning and the administrators who edit weights try drafts."""
    return allowed(user, Role.SALES_PLANNING) or user.has_perm("scoring.add_weightscheme")


def _quarter(request, choices: list[str]) -> Quarter | None:
    """The graded quarter asked for (404 for one that is not among `choices`), else the latest."""
    text = request.GET.get("quarter") or request.POST.get("quarter")
    if text:
        try:
            quarter = Quarter.parse(text)
        except ValueError:
            raise Http404 from None
        if str(quarter) not in choices:
            raise Http404
        return quarter
    return Quarter.parse(choices[0]) if choices else None


def _last_quarters(last: Quarter, count: int = QUARTERS_SHOWN) -> list[Quarter]:
    quarters = [last]
    while len(quarters) < count:
        quarters.append(quarters[-1].previous())
    return quarters[::-1]


# What-if -------------------------------------------------------------------------------------


def _draft_form(request, quarter):
    base = whatif.baseline(quarter=quarter)
    data = request.GET if "try" in request.GET else None
    form = DraftForm(data, base=base, indicators=list(Indicator.objects.all()))
    return base, form


def _run(request):
    """(quarter, base, form, result or None) for the what-if page and its export."""
    if not _can_try(request.user):
        raise Http404
    choices = whatif.graded_quarters()
    quarter = _quarter(request, choices)
    if quarter is None:
        return None, None, None, None, choices
    base, form = _draft_form(request, quarter)
    result = None
    if form.is_bound and form.is_valid():
        result = whatif.run_what_if(quarter=quarter, draft=form.draft(), base=base)
    return quarter, base, form, result, choices


def what_if(request):
    quarter, base, form, result, choices = _run(request)
    context = {"quarter": quarter, "quarters": choices, "form": form, "base": base, "result": result}
    if result is not None:
        filters = ChangeFilterForm(request.GET, user=request.user)
        changes = filters.apply(result.changes)
        paged = paginate(request, changes, per_page=50)
        page = paged.page
        names = whatif.dealer_rows(list(page.object_list))
        offices = {o.pk: o for o in Office.objects.all()}
        draft_query = request.GET.copy()
        for name in ("page", "office", "kind", "direction", "q"):
            draft_query.pop(name, None)
        context.update(
            filters=filters,
            page=page,
            rows=[(c, names.get(c.dealer_id, ("", "")), offices.get(c.office_id)) for c in page.object_list],
            query=paged.query,
            draft_query=draft_query.urlencode(),
            distribution=_distribution_rows(result, offices),
            chart=_distribution_chart(result),
            totals=form.totals(),
            can_save_scheme=request.user.has_perm("scoring.add_weightscheme"),
            can_save_policy=request.user.has_perm("scoring.add_classificationpolicy"),
            effective_quarters=effective_quarters(),
            kinds=DealerKind.choices,
            save_kind=(result.reweighted or [DealerKind.EXCLUSIVE])[0],
        )
    return render(request, "scoring/insight/what_if.html", context)


def _distribution_rows(result, offices):
    rows = []
    for office_id in sorted(result.before, key=lambda pk: offices[pk].code if pk in offices else ""):
        before, after = result.before[office_id], result.after.get(office_id, {})
        rows.append(
            {
                "office": offices.get(office_id),
                "cells": [(before.get(c, 0), after.get(c, 0)) for c in rules.CLASS_KEYS],
            }
        )
    company_before = rules.add_distributions(result.before.values())
    company_after = rules.add_distributions(result.after.values())
    rows.append({"office": None, "cells": [(company_before[c], company_after[c]) for c in rules.CLASS_KEYS]})
    return rows


def _distribution_chart(result):
    before = rules.add_distributions(result.before.values())
    after = rules.add_distributions(result.after.values())
    return {
        "labels": [_("As graded"), _("Draft")],
        "series": {c: [before[c], after[c]] for c in rules.CLASSES},
    }


CHANGE_COLUMNS = [
    "quarter",
    "dealer",
    "name",
    "office",
    "kind",
    "total",
    "draft_total",
    "computed_class",
    "draft_computed_class",
    "final_class",
    "draft_final_class",
    "overridden",
]


def what_if_export(request):
    quarter, _base, form, result, _choices = _run(request)
    if result is None:
        raise Http404
    filters = ChangeFilterForm(request.GET, user=request.user)
    changes = filters.apply(result.changes)
    names = whatif.dealer_rows(changes)
    offices = {o.pk: o for o in Office.objects.all()}
    kinds = dict(DealerKind.choices)

    def row(c, report=False):
        code, name = names.get(c.dealer_id, ("", ""))
        office = offices[c.office_id]
        return [
            str(quarter),
            code,
            name,
            office.name if report else office.code,
            kinds[c.kind] if report else c.kind,
            c.before.total,
            c.after.total,
            c.before.computed_class or None,
            c.after.computed_class or None,
            c.before.final_class or None,
            c.after.final_class or None,
            c.before.overridden,
        ]

    if request.GET.get("format") == "report":
        return reports.report_response(
            name=f"what-if-{quarter}",
            title=_("What-if %(quarter)s") % {"quarter": quarter},
            columns=[
                reports.Column(_("Quarter")),
                reports.Column(_("Dealer code")),
                reports.Column(_("Dealer")),
                reports.Column(_("Office")),
                reports.Column(_("Kind")),
                reports.Column(_("Total as graded"), reports.DECIMAL),
                reports.Column(_("Total under the draft"), reports.DECIMAL),
                reports.Column(_("Computed class as graded")),
                reports.Column(_("Computed class under the draft")),
                reports.Column(_("Final class as graded")),
                reports.Column(_("Final class under the draft")),
                reports.Column(_("Overridden")),
            ],
            rows=(row(c, report=True) for c in changes),
        )
    return export_response(
        request, name=f"what-if-{quarter}", columns=CHANGE_COLUMNS, rows=(row(c) for c in changes)
    )


def what_if_save(request):
    """Save the draft tried as a new weight scheme (one kind) or classification policy."""
    if request.method != "POST":
        raise Http404
    target = request.POST.get("target")
    needed = {"scheme": "scoring.add_weightscheme", "policy": "scoring.add_classificationpolicy"}.get(target)
    if needed is None or not request.user.has_perm(needed):
        raise Http404
    choices = whatif.graded_quarters()
    quarter = _quarter(request, choices)
    if quarter is None:
        raise Http404
    data = QueryDict(mutable=True)
    data.update(
        {
            k: v
            for k, v in request.POST.items()
            if k not in ("csrfmiddlewaretoken", "target", "effective_from", "kind")
        }
    )
    data["try"] = "1"
    back = f"{reverse('insight:whatif')}?{data.urlencode()}"
    base = whatif.baseline(quarter=quarter)
    form = DraftForm(data, base=base, indicators=list(Indicator.objects.all()))
    if not form.is_valid():
        messages.error(request, _("Nothing was saved: correct the draft first."))
        return redirect(back)
    try:
        effective_from = Quarter.parse(request.POST.get("effective_from", ""))
    except ValueError:
        messages.error(request, _("Choose the quarter the new scheme takes effect from."))
        return redirect(back)
    draft = form.draft()
    try:
        if target == "scheme":
            kind = request.POST.get("kind", "")
            if kind not in draft.weights:
                raise ScoringError(_("Choose a dealer kind."))
            saved = whatif.save_scheme(
                kind=kind,
                weights=draft.weights[kind],
                effective_from=effective_from,
                user=request.user,
                note=_("From the what-if on %(quarter)s") % {"quarter": quarter},
            )
            messages.success(
                request,
                _("The %(kind)s weights were saved as a new scheme effective from %(quarter)s.")
                % {"kind": saved.get_kind_display(), "quarter": saved.effective_from},
            )
            admin_url = reverse("admin:scoring_weightscheme_change", args=[saved.pk])
        else:
            saved = whatif.save_policy(policy=draft.policy, effective_from=effective_from, user=request.user)
            messages.success(
                request,
                _("The policy was saved as a new classification policy effective from %(quarter)s.")
                % {"quarter": saved.effective_from},
            )
            admin_url = reverse("admin:scoring_classificationpolicy_change", args=[saved.pk])
    except ScoringError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    return redirect(admin_url if request.user.is_staff else back)


# Calibration ---------------------------------------------------------------------------------


def _graded_choices():
    return list(QuarterGrading.objects.order_by("-quarter").values_list("quarter", flat=True)[:40])


@role_required(*COMPANY)
def calibration(request):
    choices = _graded_choices()
    quarter = _quarter(request, choices)
    offices = list(Office.objects.visible_to(request.user).order_by("code"))
    if quarter is None:
        return render(request, "scoring/insight/calibration.html", {"quarter": None, "quarters": choices})
    quarters = [q for q in _last_quarters(quarter) if str(q) in choices]
    figures = calibration_service.calibration_by_quarter(quarters)
    current = figures[quarter]
    company = next(iter(current.values()), None)
    chart = {
        "labels": [str(q) for q in quarters],
        "offices": [
            {
                "label": o.name,
                "deviation": [_float(figures[q].get(o.pk) and figures[q][o.pk].deviation) for q in quarters],
            }
            for o in offices
        ],
    }
    return render(
        request,
        "scoring/insight/calibration.html",
        {
            "quarter": quarter,
            "quarters": choices,
            "rows": [(o, current.get(o.pk)) for o in offices],
            "company_gap": company.company_gap if company else None,
            "chart": chart,
        },
    )


def _float(value):
    return float(value) if value is not None else None


@role_required(*COMPANY)
def calibration_export(request):
    choices = _graded_choices()
    quarter = _quarter(request, choices)
    if quarter is None:
        raise Http404
    offices = Office.objects.visible_to(request.user)
    columns, rows = calibration_service.calibration_table(quarter=quarter, offices=offices)
    if request.GET.get("format") == "report":
        names = dict(offices.values_list("code", "name"))
        return reports.report_response(
            name=f"calibration-{quarter}",
            title=_("Score calibration %(quarter)s") % {"quarter": quarter},
            columns=[
                reports.Column(_("Quarter")),
                reports.Column(_("Office")),
                reports.Column(_("Dealers evaluated"), reports.INTEGER),
                reports.Column(_("Mean manual score"), reports.DECIMAL),
                reports.Column(_("Mean computed score"), reports.DECIMAL),
                reports.Column(_("Gap (manual − computed)"), reports.DECIMAL),
                reports.Column(_("Company gap"), reports.DECIMAL),
                reports.Column(_("Deviation from the company"), reports.DECIMAL),
            ],
            rows=([q, names[code], *values] for q, code, *values in rows),
        )
    return export_response(request, name=f"calibration-{quarter}", columns=columns, rows=rows)


# Class movements -----------------------------------------------------------------------------


def _movements(request):
    choices = _graded_choices()
    quarter = _quarter(request, choices)
    offices = list(Office.objects.visible_to(request.user).order_by("code"))
    if quarter is None:
        return None, choices, offices, {}
    matrices = movement_service.matrices(quarter=quarter, office_ids=[o.pk for o in offices]) or {}
    return quarter, choices, offices, matrices


def movements(request):
    quarter, choices, offices, matrices = _movements(request)
    context = {"quarter": quarter, "quarters": choices, "keys": rules.CLASS_KEYS}
    if quarter is not None:
        quarters = _last_quarters(quarter)
        history = movement_service.distributions(quarters=quarters, office_ids=[o.pk for o in offices])
        context.update(
            offices=[(o, _matrix_rows(matrices[o.pk])) for o in offices],
            company=_matrix_rows(rules.add_matrices(matrices.values()))
            if sees_all_offices(request.user)
            else None,
            chart={
                "labels": [str(q) for q in quarters],
                "offices": [
                    {
                        "label": f"{o.code} {o.name}",
                        "series": {c: [d[c] for d in history[o.pk]] for c in rules.CLASSES},
                    }
                    for o in offices
                ],
            },
        )
        # the matrices and the chart rendered once per content (evalsys.fragments)
        context["movements_digest"] = fragment_digest(
            quarter, context["keys"], context["offices"], context["company"], context["chart"]
        )
    return render(request, "scoring/insight/movements.html", context)


def _matrix_rows(matrix):
    """Rows for a template: (previous class, [counts by current class], row total), then column totals."""
    rows = [
        (previous, [matrix[previous][c] for c in rules.CLASS_KEYS], sum(matrix[previous].values()))
        for previous in rules.CLASS_KEYS
    ]
    totals = [sum(matrix[p][c] for p in rules.CLASS_KEYS) for c in rules.CLASS_KEYS]
    return {"rows": rows, "totals": totals, "total": sum(totals)}


MOVEMENT_COLUMNS = ["quarter", "office", "previous_class", "final_class", "dealers"]


def movements_export(request):
    quarter, _choices, offices, matrices = _movements(request)
    if quarter is None:
        raise Http404
    report = request.GET.get("format") == "report"
    none = _("none")
    rows = [
        [
            str(quarter),
            office.name if report else office.code,
            (previous or none) if report else previous or None,
            (current or none) if report else current or None,
            matrices[office.pk][previous][current],
        ]
        for office in offices
        for previous in rules.CLASS_KEYS
        for current in rules.CLASS_KEYS
        if matrices[office.pk][previous][current]
    ]
    if report:
        return reports.report_response(
            name=f"class-movements-{quarter}",
            title=_("Class movements %(quarter)s") % {"quarter": quarter},
            columns=[
                reports.Column(_("Quarter")),
                reports.Column(_("Office")),
                reports.Column(_("Previous class")),
                reports.Column(_("Final class")),
                reports.Column(_("Dealers"), reports.INTEGER),
            ],
            rows=rows,
        )
    return export_response(request, name=f"class-movements-{quarter}", columns=MOVEMENT_COLUMNS, rows=rows)
