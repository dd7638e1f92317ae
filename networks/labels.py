"""How the pages name the metrics of DESIGN.md §5."""

from django.utils.translation import gettext_lazy as _

from evalsys import reports

from .models import ChurnReason, Verification
from .rules import METRIC_NAMES

METRIC_LABELS = {
    "active_end": _("Dealers in the network at quarter end"),
    "active_prev": _("Dealers at the end of the previous quarter"),
    "active_year_before": _("Dealers a year before"),
    "growth_qoq": _("Growth vs previous quarter (%)"),
    "growth_yoy": _("Growth vs a year before (%)"),
    "new": _("New dealers"),
    "churned": _("Churned dealers"),
    "key_sales": _("Sales of the top-20 key customers"),
    "key_sales_prev": _("Sales of the same key customers in the previous quarter"),
    "key_sales_year_before": _("Sales of the same key customers a year before"),
    "key_growth_qoq": _("Key-customer growth vs previous quarter (%)"),
    "key_growth_yoy": _("Key-customer growth vs a year before (%)"),
    "visits_per_dealer_month": _("Visits per dealer per month"),
    "visit_coverage": _("Visit coverage (%)"),
    "mean_effect": _("Mean visit effect (1–5)"),
    "churn_report_days": _("Median days from churn to its report"),
}

# How the Excel report formats each metric.
METRIC_REPORT_KINDS = {
    "active_end": reports.INTEGER,
    "active_prev": reports.INTEGER,
    "active_year_before": reports.INTEGER,
    "growth_qoq": reports.PERCENT,
    "growth_yoy": reports.PERCENT,
    "new": reports.INTEGER,
    "churned": reports.INTEGER,
    "key_sales": reports.MONEY,
    "key_sales_prev": reports.MONEY,
    "key_sales_year_before": reports.MONEY,
    "key_growth_qoq": reports.PERCENT,
    "key_growth_yoy": reports.PERCENT,
    "visits_per_dealer_month": reports.DECIMAL,
    "visit_coverage": reports.PERCENT,
    "mean_effect": reports.DECIMAL,
    "churn_report_days": reports.DECIMAL,
}


def metric_rows(value_of) -> list[tuple]:
    """`(name, label, value, kind)` for each metric in §5's order; `value_of(name)` gives the value,
    `kind` (a `reports` column kind: money, percent, integer, decimal) how pages and reports format it."""
    return [(name, METRIC_LABELS[name], value_of(name), METRIC_REPORT_KINDS[name]) for name in METRIC_NAMES]


def churn_rows(rows) -> list[dict]:
    """Churn-list rows (as summaries store them) with their reason and verification named."""
    return [
        {
            **row,
            "reason_label": ChurnReason(row["reason"]).label if row["reason"] else "",
            "verification_label": Verification(row["verification"]).label if row["verification"] else "",
        }
        for row in rows
    ]
