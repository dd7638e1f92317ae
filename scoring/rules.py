"""The rules of the quarterly evaluation (DESIGN.md §3.2, §3.4) as pure functions.

Values in, values out, `Decimal` with two places rounded half-up; no database.
The services feed them set-wise and write what they return.
"""

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import NamedTuple

from django.utils.translation import gettext as _

TWO_PLACES = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal(0)

CLASS_ORDER = {"A": 3, "B": 2, "C": 1}

# Missing-data rules of an indicator.
MANUAL = "manual"
ZERO_RULE = "zero"
EXCLUDE = "exclude"


class ScoreError(ValueError):
    """A score that is not 0–100 with at most two decimals."""


def q2(value) -> Decimal:
    """Round half-up to two places."""
    return Decimal(value).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def round_half_up(value) -> int:
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


def number_text(text: str) -> str:
    """A number as typed with a Chinese input method, in ASCII: full-width digits, signs and points.

    >>> number_text(" ８５．５ "), number_text("８５。５"), number_text("－５")
    ('85.5', '85.5', '-5')
    """
    text = str(text)
    # only the full-width forms (U+FF01–FF5E) and the ideographic full stop; NFKC would also read
    # "²" or "①" as digits, which nobody types for a score
    return text.translate(FULL_WIDTH).replace("。", ".").replace("\u3000", " ").strip()


def parse_score_text(text) -> Decimal | None:
    """A score as a page showed it ("85.00", "", "８５"), for comparing; None when empty or not a number.

    >>> parse_score_text("85.00") == parse_score_text("８５"), parse_score_text(""), parse_score_text("x")
    (True, None, None)
    """
    try:
        number = Decimal(number_text(text or ""))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def validate_score(value, *, dealer: str, indicator: str) -> Decimal:
    """`value` as a score (0–100 inclusive, at most two decimals), or ScoreError naming both.

    Full-width digits are read as typed ("８５" is 85); a sign is kept, so "-5" is refused, not read as 5.
    """
    try:
        number = value if isinstance(value, Decimal) else Decimal(number_text(value))
    except (InvalidOperation, ValueError):
        number = None
    names = {"dealer": dealer, "indicator": indicator, "value": value}
    if number is None or not number.is_finite():
        raise ScoreError(_("%(dealer)s, %(indicator)s: %(value)s is not a number") % names)
    if number < 0 or number > HUNDRED:
        raise ScoreError(_("%(dealer)s, %(indicator)s: %(value)s is outside 0–100") % names)
    if number != number.quantize(TWO_PLACES):
        raise ScoreError(_("%(dealer)s, %(indicator)s: %(value)s has more than two decimals") % names)
    return number.quantize(TWO_PLACES)


def percentile_scores(sales: Mapping[Hashable, Decimal]) -> dict[Hashable, Decimal]:
    """`sales_volume` for each of N peers: 100 × (L + 0.5 × E) / (N − 1); N = 1 gives 100.

    L peers strictly lower, E other peers equal.
    """
    n = len(sales)
    if n == 1:
        return {key: q2(HUNDRED) for key in sales}
    ordered = sorted(sales.values())
    counts: dict[Decimal, int] = {}
    for value in ordered:
        counts[value] = counts.get(value, 0) + 1
    lower: dict[Decimal, int] = {}
    seen = 0
    for value in sorted(counts):
        lower[value] = seen
        seen += counts[value]
    result = {}
    for key, value in sales.items():
        equal_others = counts[value] - 1
        result[key] = q2(HUNDRED * (lower[value] + Decimal("0.5") * equal_others) / (n - 1))
    return result


def attainment_score(sales: Decimal | None, target: Decimal | None) -> Decimal | None:
    """`sales_attainment` = min(100, 100 × quarter sales / quarter target); None when missing.

    A quarter target of 0 cannot be attained against, so it counts as missing.
    """
    if sales is None or target is None or target <= 0:
        return None
    return q2(min(HUNDRED, HUNDRED * sales / target))


@dataclass(frozen=True)
class Component:
    """One indicator of a sheet: its weight, its score (None = missing) and missing-data rule."""

    weight: Decimal
    score: Decimal | None
    rule: str = MANUAL


def total_score(components: Iterable[Component]) -> Decimal | None:
    """Σ(w·s)/Σ(w) over the indicators that count, each score rounded first.

    A missing score counts as 0 under `zero`, is dropped (and the remaining
    weights renormalised) under `exclude`, and under `manual` leaves the sheet
    incomplete: the total is None. None as well when nothing counts.
    """
    return weighted_total((c.weight, c.score, c.rule) for c in components)


def weighted_total(parts: Iterable[tuple[Decimal, Decimal | None, str]]) -> Decimal | None:
    """`total_score` over `(weight, score, rule)` triples, rounded half-up to two places.

    The same rule without a `Component` per score: the what-if re-weights
    100,000 sheets with it (DESIGN.md §5a).

    >>> weighted_total([(Decimal(20), Decimal(90), MANUAL), (Decimal(80), Decimal("70.555"), MANUAL)])
    Decimal('74.45')
    """
    mean = weighted_mean(parts)
    return None if mean is None else mean.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def total_in_hundredths(parts: Iterable[tuple[int, int | None, str]]) -> int | None:
    """`weighted_total` with weights and scores in hundredths (integers): the total in hundredths.

    round-half-up(ΣW·S / ΣW) = ⌊(2·ΣW·S + ΣW) / (2·ΣW)⌋, exact in integers — the formula of
    the SQL engine (`scoring.sql`), for when 100,000 sheets are totalled in Python (a what-if).
    20 × 90 + 80 × 70.56 over 100 = 74.448 → 74.45:

    >>> total_in_hundredths([(2000, 9000, MANUAL), (8000, 7056, MANUAL)])
    7445
    >>> total_in_hundredths([(100, 6000, MANUAL), (100, None, ZERO_RULE)])
    3000
    """
    weighted = 0
    weights = 0
    for weight, score, rule in parts:
        if score is None:
            if rule == ZERO_RULE:
                score = 0
            elif rule == EXCLUDE:
                continue
            else:
                return None
        weighted += weight * score
        weights += weight
    if weights == 0:
        return None
    return (2 * weighted + weights) // (2 * weights)


def weighted_mean(parts: Iterable[tuple[Decimal, Decimal | None, str]]) -> Decimal | None:
    """Σ(w·s)/Σ(w), unrounded, each score rounded half-up first; missing scores by their rule.

    20 × 90 + 80 × 70.56 (70.555 rounded first) = 7444.8, over 100 = 74.448:
    >>> weighted_mean([(Decimal(20), Decimal(90), MANUAL), (Decimal(80), Decimal("70.555"), MANUAL)])
    Decimal('74.448')

    Under `exclude` a missing score drops its weight; under `zero` it counts 0:
    >>> weighted_mean([(Decimal(1), Decimal(60), MANUAL), (Decimal(1), None, EXCLUDE)])
    Decimal('60.00')
    >>> weighted_mean([(Decimal(1), Decimal(60), MANUAL), (Decimal(1), None, ZERO_RULE)])
    Decimal('30.00')
    """
    weighted = ZERO
    weights = ZERO
    for weight, score, rule in parts:
        if score is None:
            if rule == ZERO_RULE:
                score = ZERO
            elif rule == EXCLUDE:
                continue
            else:
                return None
        if not isinstance(score, Decimal):
            score = Decimal(score)
        if not isinstance(weight, Decimal):
            weight = Decimal(weight)
        weighted += weight * score.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
        weights += weight
    if weights == 0:
        return None
    return weighted / weights


def band_class(total: Decimal, *, a: Decimal, b: Decimal) -> str:
    """A if total ≥ a, B if total ≥ b, else C (bounds inclusive)."""
    if total >= a:
        return "A"
    if total >= b:
        return "B"
    return "C"


class Ranked(NamedTuple):
    key: Hashable
    total: Decimal
    sales_volume: Decimal | None
    code: str


NO_VOLUME = Decimal(-1)  # orders a dealer without a sales volume after any with one


def quota_classes(entries: Iterable[Ranked], *, a: Decimal, b: Decimal) -> dict[Hashable, str]:
    """Quota classes within one dealer kind, company-wide.

    Order by total descending, then higher `sales_volume`, then dealer code; the
    first round-half-up(N·a/100) are A, those up to round-half-up(N·(a+b)/100) B,
    the rest C.
    """
    # by code, then (stable, so codes stay ascending among equals) by total and volume descending:
    # two sorts without negating a Decimal per dealer (a what-if orders 100,000)
    ordered = sorted(entries, key=lambda e: e.code)
    ordered.sort(
        key=lambda e: (e.total, e.sales_volume if e.sales_volume is not None else NO_VOLUME), reverse=True
    )
    n = len(ordered)
    a_count = round_half_up(Decimal(n) * Decimal(a) / HUNDRED)
    ab_count = round_half_up(Decimal(n) * (Decimal(a) + Decimal(b)) / HUNDRED)
    result = {}
    for position, entry in enumerate(ordered):
        result[entry.key] = "A" if position < a_count else "B" if position < ab_count else "C"
    return result


def competition_ranks(totals: Mapping[Hashable, Decimal]) -> dict[Hashable, int]:
    """Rank by rounded total, descending; ties share the better rank (1, 2, 2, 4)."""
    rounded = {key: q2(total) for key, total in totals.items()}
    ordered = sorted(rounded.values(), reverse=True)
    first_position: dict[Decimal, int] = {}
    for position, value in enumerate(ordered, start=1):
        first_position.setdefault(value, position)
    return {key: first_position[value] for key, value in rounded.items()}


def class_change(previous: str | None, final: str | None) -> str:
    """`new` without a previous class, else `up`, `down` or `same` (A above B above C)."""
    if not previous:
        return "new"
    if CLASS_ORDER[final] > CLASS_ORDER[previous]:
        return "up"
    if CLASS_ORDER[final] < CLASS_ORDER[previous]:
        return "down"
    return "same"
