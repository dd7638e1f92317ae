"""Score calibration across offices (DESIGN.md §5a), read set-wise.

Grading keeps each quarter's figures on its `QuarterGrading` (computed in the
same transaction as the classes, from the same scores), so the pages read one
row per quarter; a quarter graded before that was kept is computed on request.
"""

from dataclasses import astuple
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count

from dealers.models import Office
from evalsys.periods import Quarter

from ..models import (
    EvaluationRound,
    Grade,
    Indicator,
    IndicatorWeight,
    Method,
    MissingRule,
    QuarterGrading,
    Score,
    ScoreSheet,
)
from ..sql import FEW_OFFICES
from . import rules

COLUMNS = ["quarter", "office", "dealers", "manual_mean", "computed_mean", "gap", "company_gap", "deviation"]
FIGURES = COLUMNS[2:]


def _t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _decimal(value) -> Decimal:
    """A sum as the database returns it (Decimal on PostgreSQL, float on SQLite) as a Decimal."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def office_sums(*, quarter: Quarter, office_ids: list[int] | None = None) -> dict[int, rules.GroupSums]:
    """Each office's evaluated dealers and the sums of their manual and computed scores, in two queries
    (only the offices `office_ids`, when given).

    A dealer's group score is Σ(w·s)/Σ(w) over the group's indicators of its own
    scheme, scores as in its total (the override when there is one; a missing
    one counts 0 under `zero`, drops its weight under `exclude`, and under
    `manual` leaves the group without a score); `rules.group_scores` is the
    definition, and the tests hold the two equal.
    """
    effective = "COALESCE(s.override_value, s.value)"
    sql = f"""
        SELECT office_id, is_computed, COUNT(score), SUM(score) FROM (
            SELECT g.office_id, g.dealer_id, i.method <> %(manual)s AS is_computed,
                   CASE WHEN MAX(CASE WHEN {effective} IS NULL AND i.missing_rule = %(must)s THEN 1 ELSE 0 END) = 1
                        THEN NULL
                        ELSE SUM(w.weight * COALESCE({effective}, 0)) * 1.0 / NULLIF(SUM(
                            CASE WHEN {effective} IS NULL AND i.missing_rule = %(exclude)s THEN 0 ELSE w.weight END
                        ), 0)
                   END AS score
            FROM {_t(Grade)} g
            JOIN {_t(IndicatorWeight)} w ON w.scheme_id = g.scheme_id
            JOIN {_t(Indicator)} i ON i.id = w.indicator_id
            JOIN {_t(EvaluationRound)} r ON r.quarter = g.quarter AND r.office_id = g.office_id
            JOIN {_t(ScoreSheet)} sh ON sh.round_id = r.id AND sh.dealer_id = g.dealer_id
            LEFT JOIN {_t(Score)} s ON s.sheet_id = sh.id AND s.indicator_id = w.indicator_id
            WHERE g.quarter = %(quarter)s AND g.evaluated {{only}}
            GROUP BY g.office_id, g.dealer_id, i.method <> %(manual)s
        ) AS dealer_scores
        GROUP BY office_id, is_computed
    """
    params = {
        "quarter": str(quarter),
        "manual": Method.MANUAL,
        "must": MissingRule.MANUAL,
        "exclude": MissingRule.EXCLUDE,
    }
    evaluated = Grade.objects.filter(quarter=str(quarter), evaluated=True)
    only = ""
    if office_ids is not None:
        if not office_ids:
            return {}
        params.update({f"o{n}": office_id for n, office_id in enumerate(office_ids)})
        only = "AND g.office_id IN (" + ", ".join(f"%(o{n})s" for n in range(len(office_ids))) + ")"
        evaluated = evaluated.filter(office_id__in=office_ids)
    sql = sql.format(only=only)
    groups = {}
    # a transaction of its own (a savepoint within grading's) scopes the planner settings
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # hash joins over the quarter's scores, not a nested loop per dealer (see scoring.sql);
            # a few offices' scores are read through the indexes
            few = office_ids is not None and len(office_ids) <= FEW_OFFICES
            cursor.execute(f"SET LOCAL enable_nestloop = {'on' if few else 'off'}")
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        for office_id, is_computed, count, total in cursor.fetchall():
            groups[(office_id, bool(is_computed))] = (count, _decimal(total or 0))
    dealers = dict(
        evaluated.values("office_id").annotate(n=Count("*")).order_by().values_list("office_id", "n")
    )
    sums = {}
    for office_id, n in dealers.items():
        manual_count, manual_sum = groups.get((office_id, False), (0, Decimal(0)))
        computed_count, computed_sum = groups.get((office_id, True), (0, Decimal(0)))
        sums[office_id] = rules.GroupSums(n, manual_sum, manual_count, computed_sum, computed_count)
    return sums


def snapshot(
    *,
    quarter: Quarter,
    kept: dict | None = None,
    office_ids: list[int] | None = None,
    known: dict | None = None,
) -> dict:
    """The quarter's calibration per office as JSON, for `QuarterGrading.calibration`, each office's
    figures with the unrounded sums they come from (`sums`).

    `kept` and `office_ids`: the snapshot the last grading left, and the only offices graded since;
    the other offices' sums are taken from it (the company's gap is still over every office).
    `known`: sums the grading of some offices computed on the way (`QuarterGrading.calibration_sums`,
    null for an office with no dealer evaluated); only the graded offices not among them are read.
    """
    known = {int(office_id): v for office_id, v in (known or {}).items()}
    if kept is not None and office_ids is not None and all("sums" in v for v in kept.values()):
        graded = set(office_ids)
        sums = {
            int(office_id): _sums_from_json(v["sums"])
            for office_id, v in kept.items()
            if int(office_id) not in graded
        }
    else:
        graded, sums = None, {}
    from_grading = {o: v for o, v in known.items() if graded is None or o in graded}
    sums.update({o: _sums_from_json(v) for o, v in from_grading.items() if v is not None})
    if graded is None and not from_grading:
        sums.update(office_sums(quarter=quarter))
    else:
        unread = (
            set(Office.objects.values_list("pk", flat=True)) if graded is None else graded
        ) - from_grading.keys()
        if unread:
            sums.update(office_sums(quarter=quarter, office_ids=sorted(unread)))
    figures = rules.calibration(sums)
    return {
        str(office_id): {
            **{
                name: (str(value) if isinstance(value, Decimal) else value)
                for name, value in zip(FIGURES, c.values(), strict=True)
            },
            "sums": [str(x) for x in astuple(sums[office_id])],
        }
        for office_id, c in figures.items()
    }


def _sums_from_json(sums: list[str]) -> rules.GroupSums:
    dealers, manual_sum, manual_count, computed_sum, computed_count = sums
    return rules.GroupSums(
        int(dealers), Decimal(manual_sum), int(manual_count), Decimal(computed_sum), int(computed_count)
    )


def _from_json(data: dict) -> rules.Calibration:
    return rules.Calibration(
        *(
            Decimal(data[name]) if name != "dealers" and data[name] is not None else data[name]
            for name in FIGURES
        )
    )


def calibration_by_quarter(quarters: list[Quarter]) -> dict[Quarter, dict[int, rules.Calibration]]:
    """Each quarter's calibration per office id: as kept by grading, or computed for a quarter graded before."""
    kept = dict(
        QuarterGrading.objects.filter(quarter__in=[str(q) for q in quarters]).values_list(
            "quarter", "calibration"
        )
    )
    result = {}
    for quarter in quarters:
        if str(quarter) not in kept:
            result[quarter] = {}
        elif kept[str(quarter)]:
            result[quarter] = {int(k): _from_json(v) for k, v in kept[str(quarter)].items()}
        else:
            result[quarter] = rules.calibration(office_sums(quarter=quarter))
    return result


def calibration_table(*, quarter: Quarter, offices=None) -> tuple[list[str], list[list]]:
    """DESIGN §6.2's `export_calibration`: one row per office by code; an office without
    evaluated dealers has 0 dealers and empty figures."""
    figures = calibration_by_quarter([quarter])[quarter]
    offices = (offices if offices is not None else Office.objects.all()).order_by("code")
    empty = rules.Calibration(0, None, None, None, None, None)
    rows = [
        [str(quarter), office.code, *figures.get(office.pk, empty).values()]
        for office in offices.only("pk", "code")
    ]
    return COLUMNS, rows
