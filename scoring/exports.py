"""The ABC list as DESIGN.md §6.2 exports it."""

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from dealers.models import DealerKind
from evalsys import reports

from .models import Change, Grade

ABC_COLUMNS = [
    "quarter",
    "dealer",
    "name",
    "office",
    "kind",
    "total",
    "office_rank",
    "company_rank",
    "computed_class",
    "final_class",
    "previous_class",
    "change",
    "overridden",
    "evaluated",
]


def abc_rows(grades):
    """One row per grade (= per dealer in the network at quarter end), by dealer code."""
    rows = (
        grades.order_by("dealer__code")
        .values_list(
            "quarter",
            "dealer__code",
            "dealer__name",
            "office__code",
            "kind",
            "total",
            "office_rank",
            "company_rank",
            "computed_class",
            "final_class",
            "previous_class",
            "change",
            "overridden",
            "evaluated",
        )
        .iterator(chunk_size=5000)
    )
    for row in rows:
        yield [value if value != "" else None for value in row]


def quarter_grades(quarter):
    return Grade.objects.filter(quarter=str(quarter))


def abc_report_columns():
    return [
        reports.Column(_("Quarter")),
        reports.Column(_("Dealer code")),
        reports.Column(_("Dealer")),
        reports.Column(_("Office")),
        reports.Column(_("Kind")),
        reports.Column(_("Total score"), reports.DECIMAL),
        reports.Column(_("Office rank"), reports.INTEGER),
        reports.Column(_("Company rank"), reports.INTEGER),
        reports.Column(_("Computed class")),
        reports.Column(_("Final class")),
        reports.Column(_("Previous class")),
        reports.Column(pgettext("class movement", "Change")),
        reports.Column(_("Overridden")),
        reports.Column(_("Override reason"), width=40),
        reports.Column(_("Evaluated")),
    ]


def abc_report_rows(grades):
    """The ABC list for people: office names, kinds and changes in words, override reasons."""
    kinds, changes = dict(DealerKind.choices), dict(Change.choices)
    rows = (
        grades.order_by("dealer__code")
        .values_list(
            "quarter",
            "dealer__code",
            "dealer__name",
            "office__name",
            "kind",
            "total",
            "office_rank",
            "company_rank",
            "computed_class",
            "final_class",
            "previous_class",
            "change",
            "overridden",
            "override_reason",
            "evaluated",
        )
        .iterator(chunk_size=5000)
    )
    for (
        quarter,
        code,
        name,
        office,
        kind,
        total,
        o_rank,
        c_rank,
        computed,
        final,
        prev,
        change,
        *rest,
    ) in rows:
        overridden, reason, evaluated = rest
        yield [
            quarter,
            code,
            name,
            office,
            kinds.get(kind, kind),
            total,
            o_rank,
            c_rank,
            computed,
            final,
            prev,
            changes.get(change, change),
            overridden,
            reason,
            evaluated,
        ]
