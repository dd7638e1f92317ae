"""The what-if on weights and policy (DESIGN.md §5a), and saving a draft as a new scheme or policy.

A what-if reads the quarter's grades and, for each dealer kind whose weights
the draft changes, that kind's scores — two or three set-wise queries, no
writes — and applies the grading rules to them in `insight.rules`.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, IntegerField
from django.db.models.functions import Cast, Round
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from dealers.models import Dealer, DealerKind
from evalsys.bulk import collector_paused
from evalsys.periods import Quarter

from ..models import (
    ClassificationPolicy,
    EvaluationRound,
    Grade,
    GradingStatus,
    Indicator,
    IndicatorWeight,
    QuarterGrading,
    Score,
    ScoreSheet,
    WeightScheme,
)
from ..services import ScoringError, config_for
from . import rules

GRADED = (GradingStatus.GRADED, GradingStatus.PUBLISHED)
HUNDRED = Decimal(100)


@dataclass
class Baseline:
    """What a graded quarter was graded with: each kind's scheme and weights, and the policy."""

    schemes: dict[str, WeightScheme]
    weights: dict[str, dict[int, Decimal]]  # kind → indicator id → weight
    policy: ClassificationPolicy

    @property
    def rules_policy(self) -> rules.Policy:
        return policy_of(self.policy)


@dataclass
class Draft:
    weights: dict[str, dict[int, Decimal]]  # kind → indicator id → weight (a weight of 0 drops it)
    policy: rules.Policy


@dataclass
class Change:
    """A dealer whose class the draft would change."""

    dealer_id: int
    office_id: int
    kind: str
    before: rules.GradeFacts
    after: rules.Outcome

    @property
    def direction(self) -> str:
        """`up`, `down` or `other` (into or out of being evaluated), by the computed class."""
        order = {"A": 3, "B": 2, "C": 1}
        old, new = order.get(self.before.computed_class), order.get(self.after.computed_class)
        if old and new:
            return "up" if new > old else "down"
        return "other"


@dataclass
class WhatIf:
    quarter: Quarter
    before: dict[int, dict[str, int]]  # office id → final classes as graded
    after: dict[int, dict[str, int]]  # office id → final classes under the draft
    changes: list[Change] = field(default_factory=list)
    reweighted: list[str] = field(default_factory=list)  # the kinds whose weights the draft changes


def policy_of(policy: ClassificationPolicy) -> rules.Policy:
    if policy.method == rules.QUOTA:
        return rules.Policy(rules.QUOTA, policy.quota_a, policy.quota_b)
    return rules.Policy(rules.BANDS, policy.band_a, policy.band_b)


def graded_quarters() -> list[str]:
    """Graded (or published) quarters, latest first: the quarters a what-if can be tried on."""
    return list(
        QuarterGrading.objects.filter(status__in=GRADED)
        .order_by("-quarter")
        .values_list("quarter", flat=True)[:40]
    )


def baseline(*, quarter: Quarter) -> Baseline:
    """The schemes and policy the quarter's grades record; those in force for it where none is recorded."""
    if not QuarterGrading.objects.filter(quarter=str(quarter), status__in=GRADED).exists():
        raise ScoringError(_("%(quarter)s has not been graded yet.") % {"quarter": quarter})
    config = config_for(quarter)
    recorded = (
        Grade.objects.filter(quarter=str(quarter), scheme__isnull=False)
        .values("kind", "scheme_id", "policy_id")
        .annotate(n=Count("*"))
        .order_by("kind", "-n")
    )
    scheme_ids, policy_id = {}, None
    for row in recorded:
        scheme_ids.setdefault(row["kind"], row["scheme_id"])
        policy_id = policy_id or row["policy_id"]
    recorded_schemes = WeightScheme.objects.in_bulk(list(scheme_ids.values()))
    schemes = {kind: kc.scheme for kind, kc in config.kinds.items()}
    schemes.update({kind: recorded_schemes[pk] for kind, pk in scheme_ids.items() if pk in recorded_schemes})
    weights = defaultdict(dict)
    for w in IndicatorWeight.objects.filter(scheme__in=schemes.values()).values(
        "scheme_id", "indicator_id", "weight"
    ):
        weights[w["scheme_id"]][w["indicator_id"]] = w["weight"]
    policy = ClassificationPolicy.objects.filter(pk=policy_id).first() or config.policy
    return Baseline(
        schemes=schemes, weights={kind: weights[s.pk] for kind, s in schemes.items()}, policy=policy
    )


def _hundredths(expression):
    """A two-place decimal as an integer number of hundredths, in SQL."""
    return Cast(Round(expression * 100), IntegerField())


def _rows(queryset):
    """A values_list queryset's rows straight from the cursor, without Django's per-value converters.

    The what-if reads every grade and score of a quarter; at 100,000 dealers the
    converters alone cost more than the query. The columns read are integers,
    text and booleans (on SQLite 0/1), which need no conversion.
    """
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(20000):
            yield from rows


def _decimal(hundredths: int | None) -> Decimal | None:
    return None if hundredths is None else Decimal(hundredths).scaleb(-2)


def _grade_facts(quarter: Quarter) -> list[rules.GradeFacts]:
    rows = (
        Grade.objects.filter(quarter=str(quarter))
        .annotate(total_h=_hundredths(F("total")), volume_h=_hundredths(F("sales_volume")))
        .values_list(
            "dealer_id",
            "dealer__code",
            "office_id",
            "kind",
            "evaluated",
            "total_h",
            "volume_h",
            "computed_class",
            "final_class",
            "overridden",
            "previous_class",
        )
        .order_by()
    )
    return [
        rules.GradeFacts(
            dealer,
            code,
            office,
            kind,
            bool(evaluated),
            _decimal(total),
            _decimal(volume),
            *rest[:2],
            bool(rest[2]),
            rest[3],
        )
        for dealer, code, office, kind, evaluated, total, volume, *rest in _rows(rows)
    ]


RULE_CODES = {rules.rules.ZERO_RULE: 1, rules.rules.EXCLUDE: 2}  # anything else: a missing score blocks


def draft_totals(
    *, quarter: Quarter, drafts: dict[str, dict[int, Decimal]], missing_rules: dict[int, str]
) -> dict[int, Decimal | None]:
    """Each evaluated dealer's total under the draft weights of its kind (`drafts`: kind → indicator
    → weight), summed set-wise by the database in one read: `rules.draft_totals` (the definition,
    tested equal) over the sheet in the round of the grade's office, one row per dealer.

    Only the scores present are read; a missing one follows its rule by arithmetic: a `manual`
    indicator missing leaves no total, a `zero` one counts its weight, an `exclude` one drops it.
    """
    plans = {
        kind: [
            (indicator_id, rules.hundredths(weight), RULE_CODES.get(missing_rules.get(indicator_id), 0))
            for indicator_id, weight in weights.items()
        ]
        for kind, weights in drafts.items()
    }
    rows = [(kind, *row) for kind, plan in plans.items() for row in plan]
    if not rows:
        return {}
    # the weights as a derived table (a plain SELECT, which SQLite reads too)
    w = " UNION ALL ".join("SELECT %s AS kind, %s AS indicator_id, %s AS weight, %s AS rule" for _ in rows)
    kinds = list(plans)
    params = [x for row in rows for x in row] + [str(quarter), *kinds]
    t = {
        model: connection.ops.quote_name(model._meta.db_table)
        for model in (Grade, EvaluationRound, Score, ScoreSheet)
    }
    sql = f"""
        SELECT g.dealer_id, g.kind,
               COUNT(CASE WHEN w.rule = 0 THEN 1 END),
               COALESCE(SUM(CASE WHEN w.rule = 2 THEN w.weight ELSE 0 END), 0),
               COALESCE(SUM(w.weight * CAST(ROUND(COALESCE(s.override_value, s.value) * 100) AS INTEGER)), 0)
        FROM {t[Grade]} g
        JOIN {t[EvaluationRound]} r ON r.quarter = g.quarter AND r.office_id = g.office_id
        LEFT JOIN {t[ScoreSheet]} sh ON sh.round_id = r.id AND sh.dealer_id = g.dealer_id
        LEFT JOIN {t[Score]} s ON s.sheet_id = sh.id AND COALESCE(s.override_value, s.value) IS NOT NULL
        -- a score of an indicator the draft does not weigh for the dealer's kind finds no w: its
        -- NULLs count nowhere (joining the weights to the scores first paired each score with
        -- both kinds' weights of a shared indicator, twice the rows)
        LEFT JOIN ({w}) AS w ON w.indicator_id = s.indicator_id AND w.kind = g.kind
        WHERE g.quarter = %s AND g.evaluated AND g.kind IN ({", ".join("%s" for _ in kinds)})
        GROUP BY g.dealer_id, g.kind
    """
    manual = {kind: sum(1 for _i, _w, rule in plan if rule == 0) for kind, plan in plans.items()}
    counted = {kind: sum(weight for _i, weight, rule in plan if rule != 2) for kind, plan in plans.items()}
    totals = {}
    # a transaction of its own (a savepoint inside another) scopes the planner settings
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # hash joins over the quarter's scores, as grading reads them (scoring.sql)
            cursor.execute("SET LOCAL enable_nestloop = off")
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        for dealer_id, kind, manual_present, excluded_present, weighted in cursor.fetchall():
            weights_sum = counted[kind] + int(excluded_present)
            if manual_present < manual[kind] or weights_sum == 0:
                totals[dealer_id] = None
            else:
                weighted = int(weighted)
                totals[dealer_id] = Decimal((2 * weighted + weights_sum) // (2 * weights_sum)).scaleb(-2)
    return totals


def run_what_if(*, quarter: Quarter, draft: Draft, base: Baseline | None = None) -> WhatIf:
    """The quarter graded with `draft` instead of what it was graded with; reads only, writes nothing."""
    with collector_paused():
        return _run_what_if(quarter=quarter, draft=draft, base=base)


def _run_what_if(*, quarter: Quarter, draft: Draft, base: Baseline | None) -> WhatIf:
    base = base or baseline(quarter=quarter)
    grades = _grade_facts(quarter)
    missing_rules = dict(Indicator.objects.values_list("pk", "missing_rule"))
    drafted = {kind: {i: w for i, w in weights.items() if w} for kind, weights in draft.weights.items()}
    reweighted = [
        kind
        for kind, weights in drafted.items()
        if weights != {i: w for i, w in base.weights.get(kind, {}).items() if w}
    ]
    totals = draft_totals(
        quarter=quarter, drafts={kind: drafted[kind] for kind in reweighted}, missing_rules=missing_rules
    )
    outcomes = rules.what_if(grades, totals=totals, policy=draft.policy)
    changed = [
        g
        for g in grades
        if (g.computed_class, g.final_class, g.evaluated)
        != (outcomes[g.key].computed_class, outcomes[g.key].final_class, outcomes[g.key].evaluated)
    ]
    # sorted by code after filtering: a few thousand changes, not every dealer
    changes = [
        Change(g.key, g.office, g.kind, g, outcomes[g.key]) for g in sorted(changed, key=lambda g: g.code)
    ]
    return WhatIf(
        quarter=quarter,
        before=rules.distribution((g.office, g.final_class) for g in grades),
        after=rules.distribution((g.office, outcomes[g.key].final_class) for g in grades),
        changes=changes,
        reweighted=reweighted,
    )


# Saving a draft ------------------------------------------------------------------------


def _refuse_past(effective_from: Quarter) -> None:
    current = Quarter.containing(timezone.localdate())
    if effective_from < current:
        raise ScoringError(
            _("A new scheme takes effect from the current quarter (%(quarter)s) or a later one.")
            % {"quarter": current}
        )


def check_weights(*, kind: str, weights: dict[int, Decimal]) -> dict[int, Decimal]:
    """The positive weights of `kind`'s indicators, refusing anything but a total of exactly 100."""
    if kind not in DealerKind.values:
        raise ScoringError(_("Choose a dealer kind."))
    indicators = Indicator.objects.in_bulk(list(weights))
    kept = {}
    for indicator_id, weight in weights.items():
        indicator = indicators.get(indicator_id)
        if indicator is None:
            raise ScoringError(_("Unknown indicator."))
        try:
            weight = Decimal(weight)
        except (InvalidOperation, TypeError, ValueError):
            raise ScoringError(_("%(indicator)s: enter a number.") % {"indicator": indicator}) from None
        if (
            not weight.is_finite()
            or weight < 0
            or weight > HUNDRED
            or weight != weight.quantize(Decimal("0.01"))
        ):
            raise ScoringError(
                _("%(indicator)s: a weight is from 0 to 100 with at most two decimals.")
                % {"indicator": indicator}
            )
        if weight == 0:
            continue
        if not indicator.applies_to(kind):
            raise ScoringError(
                _("%(indicator)s does not apply to this dealer kind.") % {"indicator": indicator}
            )
        kept[indicator_id] = weight
    total = sum(kept.values(), Decimal(0))
    if total != HUNDRED:
        raise ScoringError(
            _("The weights add up to %(total)s; they must add up to exactly 100.") % {"total": total}
        )
    return kept


def save_scheme(
    *, kind: str, weights: dict[int, Decimal], effective_from: Quarter, user, note: str = ""
) -> WeightScheme:
    """Save draft weights as a new scheme of `kind` effective from a current or future quarter."""
    _refuse_past(effective_from)
    weights = check_weights(kind=kind, weights=weights)
    exists = _("A %(kind)s scheme effective from %(quarter)s already exists; change it in the admin.") % {
        "kind": DealerKind(kind).label,
        "quarter": effective_from,
    }
    try:
        with transaction.atomic():
            if (
                WeightScheme.objects.select_for_update()
                .filter(kind=kind, effective_from=str(effective_from))
                .exists()
            ):
                raise ScoringError(exists)
            scheme = WeightScheme(kind=kind, effective_from=str(effective_from), note=note[:200])
            scheme._history_user = user
            scheme.save()
            bulk_create_with_history(
                [IndicatorWeight(scheme=scheme, indicator_id=i, weight=w) for i, w in weights.items()],
                IndicatorWeight,
                default_user=user,
            )
    except IntegrityError:
        raise ScoringError(exists) from None
    return scheme


def save_policy(*, policy: rules.Policy, effective_from: Quarter, user) -> ClassificationPolicy:
    """Save a draft policy as a new classification policy effective from a current or future quarter."""
    _refuse_past(effective_from)
    new = ClassificationPolicy(effective_from=str(effective_from), method=policy.method)
    if policy.method == rules.QUOTA:
        new.quota_a, new.quota_b = policy.a, policy.b
    else:
        new.band_a, new.band_b = policy.a, policy.b
    try:
        new.full_clean()
    except ValidationError as exc:
        raise ScoringError(" ".join(exc.messages)) from None
    exists = _(
        "A classification policy effective from %(quarter)s already exists; change it in the admin."
    ) % {"quarter": effective_from}
    try:
        with transaction.atomic():
            new._history_user = user
            new.save()
    except IntegrityError:
        raise ScoringError(exists) from None
    return new


def dealer_rows(changes: list[Change]) -> dict[int, tuple[str, str]]:
    """dealer id → (code, name) for the changes shown: one query."""
    return {
        pk: (code, name)
        for pk, code, name in Dealer.objects.filter(pk__in=[c.dealer_id for c in changes]).values_list(
            "pk", "code", "name"
        )
    }
