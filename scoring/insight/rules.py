"""The rules of DESIGN.md §5a's what-if, calibration and class movements, as pure functions.

Values in, values out; no database. They build on `scoring.rules` (the grading
rules), so a what-if classes dealers exactly as a re-grade would.
"""

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from scoring import rules

CLASSES = ("A", "B", "C")
# Movement and distribution keys: a class, or "" for none (new dealer / not classed).
CLASS_KEYS = ("A", "B", "C", "")
BANDS = "bands"
QUOTA = "quota"


@dataclass(frozen=True)
class Policy:
    """A classification policy: `bands` (thresholds a > b) or `quota` (shares a, b in percent)."""

    method: str
    a: Decimal
    b: Decimal


class GradeFacts(NamedTuple):
    """One dealer's grade of the quarter, as graded (named tuples: a what-if makes 100,000)."""

    key: Hashable
    code: str
    office: Hashable
    kind: str
    evaluated: bool
    total: Decimal | None
    sales_volume: Decimal | None
    computed_class: str
    final_class: str
    overridden: bool
    previous_class: str


class Outcome(NamedTuple):
    """A dealer's grade under a draft: total, computed and final class, evaluated or not."""

    total: Decimal | None
    computed_class: str
    final_class: str
    evaluated: bool


def hundredths(value: Decimal) -> int:
    """A weight or score of at most two decimals as an integer number of hundredths."""
    scaled = Decimal(value) * 100
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than two decimals")
    return int(scaled)


def draft_totals(
    scores: Mapping[Hashable, Mapping[Hashable, int | None]],
    *,
    weights: Mapping[Hashable, Decimal],
    missing_rules: Mapping[Hashable, str],
) -> dict[Hashable, Decimal | None]:
    """Each sheet's total under draft `weights` (indicator → weight), by the grading rule.

    `scores`: dealer → indicator → score in hundredths as used in the total (the
    override when there is one); an indicator without a score is missing and
    follows its rule. Totalled in integers (`rules.total_in_hundredths`), which
    is `rules.weighted_total` exactly, fast enough for 100,000 sheets.
    """
    plan = [
        (indicator, hundredths(weight), missing_rules.get(indicator, rules.MANUAL))
        for indicator, weight in weights.items()
    ]
    totals = {}
    for dealer, sheet in scores.items():
        total = rules.total_in_hundredths(
            (weight, sheet.get(indicator), rule) for indicator, weight, rule in plan
        )
        totals[dealer] = None if total is None else Decimal(total).scaleb(-2)
    return totals


def classes(entries: Iterable[rules.Ranked], policy: Policy) -> dict[Hashable, str]:
    """Computed classes of one dealer kind's evaluated dealers under `policy` (DESIGN.md §3.4)."""
    if policy.method == QUOTA:
        return rules.quota_classes(entries, a=policy.a, b=policy.b)
    return {e.key: rules.band_class(e.total, a=policy.a, b=policy.b) for e in entries}


def what_if(
    grades: Iterable[GradeFacts], *, totals: Mapping[Hashable, Decimal | None], policy: Policy
) -> dict[Hashable, Outcome]:
    """Every dealer's grade if the quarter were graded with draft totals and `policy`.

    `totals` holds the draft total of each re-weighted evaluated dealer (None when
    its sheet would be incomplete); the others keep their graded total. As in
    grading: a dealer not evaluated keeps its previous class as its final class,
    takes no part in quotas, and an overridden final class stays overridden.
    """
    grades = list(grades)
    new_totals = {}
    for g in grades:
        if g.evaluated:
            new_totals[g.key] = totals.get(g.key, g.total)
    by_kind = defaultdict(list)
    for g in grades:
        total = new_totals.get(g.key)
        if total is not None:
            by_kind[g.kind].append(rules.Ranked(g.key, total, g.sales_volume, g.code))
    computed = {}
    for entries in by_kind.values():
        computed.update(classes(entries, policy))
    outcomes = {}
    for g in grades:
        if g.key in computed:
            final = g.final_class if g.overridden else computed[g.key]
            outcomes[g.key] = Outcome(new_totals[g.key], computed[g.key], final, True)
        else:
            final = g.final_class if g.overridden or not g.evaluated else g.previous_class
            outcomes[g.key] = Outcome(None, "", final, False)
    return outcomes


def distribution(pairs: Iterable[tuple[Hashable, str]]) -> dict[Hashable, dict[str, int]]:
    """(office, class) pairs counted per office as {"A": n, "B": n, "C": n, "": n}."""
    counts = {}
    for (office, cls), n in Counter(pairs).items():
        counts.setdefault(office, dict.fromkeys(CLASS_KEYS, 0))[cls or ""] += n
    return counts


# Calibration -----------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One indicator of an evaluated dealer's sheet, as used in its total."""

    weight: Decimal
    score: Decimal | None
    rule: str
    computed: bool


def group_scores(parts: Sequence[Part]) -> tuple[Decimal | None, Decimal | None]:
    """(manual score, computed score): the weighted means of the manual and of the computed indicators.

    The weights of the dealer's scheme renormalised within each group; scores as
    in the total (rounded half-up first, missing ones by their rule). Unrounded.

    Manual 15 × 80 + 15 × 70 over 30 = 75; computed 20 × 100 + 20 × 50 over 40 = 75:
    >>> group_scores([Part(Decimal(15), Decimal(80), "manual", False), Part(Decimal(15), Decimal(70), "manual", False),
    ...               Part(Decimal(20), Decimal(100), "manual", True), Part(Decimal(20), Decimal(50), "manual", True)])
    (Decimal('75.00'), Decimal('75.00'))
    """
    manual = rules.weighted_mean((p.weight, p.score, p.rule) for p in parts if not p.computed)
    computed = rules.weighted_mean((p.weight, p.score, p.rule) for p in parts if p.computed)
    return manual, computed


@dataclass(frozen=True)
class GroupSums:
    """An office's evaluated dealers and the sums of their manual and computed scores (unrounded)."""

    dealers: int = 0
    manual_sum: Decimal = Decimal(0)
    manual_count: int = 0
    computed_sum: Decimal = Decimal(0)
    computed_count: int = 0

    def __add__(self, other: "GroupSums") -> "GroupSums":
        return GroupSums(
            self.dealers + other.dealers,
            self.manual_sum + other.manual_sum,
            self.manual_count + other.manual_count,
            self.computed_sum + other.computed_sum,
            self.computed_count + other.computed_count,
        )

    @property
    def manual_mean(self) -> Decimal | None:
        return self.manual_sum / self.manual_count if self.manual_count else None

    @property
    def computed_mean(self) -> Decimal | None:
        return self.computed_sum / self.computed_count if self.computed_count else None

    @property
    def gap(self) -> Decimal | None:
        if self.manual_mean is None or self.computed_mean is None:
            return None
        return self.manual_mean - self.computed_mean


def sums_of(dealers: Iterable[tuple[Hashable, Decimal | None, Decimal | None]]) -> dict[Hashable, GroupSums]:
    """(office, manual score, computed score) per evaluated dealer → GroupSums per office.

    A dealer whose group has no score that counts (every indicator excluded)
    is counted among the office's dealers but not in that group's mean.
    """
    sums = defaultdict(GroupSums)
    for office, manual, computed in dealers:
        sums[office] += GroupSums(
            1,
            manual if manual is not None else Decimal(0),
            int(manual is not None),
            computed if computed is not None else Decimal(0),
            int(computed is not None),
        )
    return dict(sums)


@dataclass(frozen=True)
class Calibration:
    """One office's calibration for a quarter (DESIGN.md §5a), two places half-up."""

    dealers: int
    manual_mean: Decimal | None
    computed_mean: Decimal | None
    gap: Decimal | None
    company_gap: Decimal | None
    deviation: Decimal | None

    def values(self) -> list:
        return [
            self.dealers,
            self.manual_mean,
            self.computed_mean,
            self.gap,
            self.company_gap,
            self.deviation,
        ]


def _q2(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(rules.TWO_PLACES, rounding=ROUND_HALF_UP)


def calibration(offices: Mapping[Hashable, GroupSums]) -> dict[Hashable, Calibration]:
    """Per office: dealers, means, gap, the company's gap and the deviation, each rounded from unrounded values.

    The company's gap is taken over every evaluated dealer of the company (the
    sum of every office's sums), not as a mean of the offices' gaps.
    """
    company = sum(offices.values(), GroupSums())
    company_gap = company.gap
    result = {}
    for office, sums in offices.items():
        gap = sums.gap
        deviation = gap - company_gap if gap is not None and company_gap is not None else None
        result[office] = Calibration(
            sums.dealers,
            _q2(sums.manual_mean),
            _q2(sums.computed_mean),
            _q2(gap),
            _q2(company_gap),
            _q2(deviation),
        )
    return result


# Class movements -------------------------------------------------------------------


def movement_matrix(counts: Iterable[tuple[str, str, int]]) -> dict[str, dict[str, int]]:
    """(previous class, current class, n) → matrix[previous][current], "" for none, zeros filled in.

    Previous "" is a dealer classed for the first time; current "" a dealer with
    no class this quarter (not evaluated and never classed).
    """
    matrix = {previous: dict.fromkeys(CLASS_KEYS, 0) for previous in CLASS_KEYS}
    for previous, current, n in counts:
        matrix[previous or ""][current or ""] += n
    return matrix


def add_matrices(matrices: Iterable[Mapping[str, Mapping[str, int]]]) -> dict[str, dict[str, int]]:
    """The cell-wise sum of movement matrices (the company's from its offices')."""
    return movement_matrix(
        (previous, current, n)
        for matrix in matrices
        for previous, row in matrix.items()
        for current, n in row.items()
    )


def add_distributions(distributions: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """The class-wise sum of distributions (the company's from its offices')."""
    total = dict.fromkeys(CLASS_KEYS, 0)
    for counts in distributions:
        for cls, n in counts.items():
            total[cls or ""] += n
    return total
