"""The rules of the follow-through (DESIGN.md §5a) as pure functions.

Values in, values out; no database. `scoring.followup.watchlist` and
`scoring.followup.support` feed them set-wise and write what they return.
"""

import datetime
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from scoring.rules import CLASS_ORDER

OPEN, IMPROVED, ESCALATED = "open", "improved", "escalated"
PENDING, ACCEPTED, REJECTED = "pending", "accepted", "rejected"


# The watch list ----------------------------------------------------------------------------


def watched_classes(rule_class: str) -> tuple[str, ...]:
    """The final classes that count as "at or below" the rule's class.

    >>> watched_classes("C")
    ('C',)
    >>> watched_classes("B")
    ('B', 'C')
    """
    return tuple(c for c in "ABC" if CLASS_ORDER[c] <= CLASS_ORDER[rule_class])


def qualifies(classes: Sequence[str | None], *, rule_class: str, quarters: int) -> bool:
    """Does a dealer go on the watch list? `classes`: its final classes in the published quarters,
    newest (the quarter being published) first, None where it has no grade.

    It does when each of the newest `quarters` is at or below the rule's class; a dealer
    with fewer published quarters behind it (new, or no grade in one) does not.

    >>> qualifies(["C", "C"], rule_class="C", quarters=2)
    True
    >>> qualifies(["C", "B", "C"], rule_class="C", quarters=2)
    False
    >>> qualifies(["C"], rule_class="C", quarters=2)
    False
    >>> qualifies(["C", None], rule_class="C", quarters=2)
    False
    >>> qualifies(["B", "C", "A"], rule_class="B", quarters=2)
    True
    """
    window = list(classes[:quarters])
    watched = watched_classes(rule_class)
    return len(window) == quarters and all(c in watched for c in window)


def outcome(final_class: str | None, *, rule_class: str) -> str:
    """How the next publication closes an open entry: `improved` when the dealer's final class
    is above the rule's class, `escalated` (an elimination proposal) when not; `open` (nothing
    to judge yet) when it has no final class in that quarter.

    >>> outcome("B", rule_class="C"), outcome("C", rule_class="C"), outcome("", rule_class="C")
    ('improved', 'escalated', 'open')
    >>> outcome("B", rule_class="B")
    'escalated'
    """
    if not final_class:
        return OPEN
    return IMPROVED if CLASS_ORDER[final_class] > CLASS_ORDER[rule_class] else ESCALATED


@dataclass(frozen=True)
class EntryState:
    """What the publication step needs to know of a stored watch-list entry."""

    id: Hashable
    dealer: Hashable
    opened: str  # quarter like 2026Q3; quarters as text sort in time order
    status: str = OPEN
    closed: str = ""
    proposal: str = ""


@dataclass
class Change:
    status: str
    closed: str
    proposal: str


@dataclass
class PublicationStep:
    """What publishing a quarter does to the watch list."""

    change: dict = field(default_factory=dict)  # entry id → Change
    open: set = field(default_factory=set)  # dealers put on the list, opened in this quarter
    remove: set = field(default_factory=set)  # entry ids opened by an earlier run that no longer hold


def publication_step(
    *,
    quarter: str,
    qualifying: set,
    entries: Iterable[EntryState],
    class_now: Mapping[Hashable, str],
    rule_class: str,
) -> PublicationStep:
    """The watch-list work of publishing (or re-publishing) `quarter`.

    `qualifying`: dealers that `qualifies` for this quarter; `entries`: the stored
    entries that are open, or were opened or closed at this quarter; `class_now`:
    their dealers' final classes in this quarter.

    1. An entry opened earlier and open, or closed at this quarter by an earlier run, is
       (re)judged by `outcome`; an elimination proposal already decided is never undone.
    2. Qualifying dealers are put on the list, opened in this quarter, unless the entry
       just escalated them (they now await the elimination decision) or one stays open.
    3. Entries opened in this quarter by an earlier run whose dealer no longer qualifies
       (its class was changed since) and still open are removed; one a later publication
       already closed stays as it is.
    Running it again on its own result changes nothing.

    Hand-worked: rule C; D1 was opened in 2026Q2 and is C again → escalated; D2 opened in
    2026Q2 is B now → improved; D3 qualifies for the first time → opened; D1 qualifies too
    but is escalated, so it gets no new entry.

    >>> step = publication_step(
    ...     quarter="2026Q3",
    ...     qualifying={"D1", "D3"},
    ...     entries=[EntryState(1, "D1", "2026Q2"), EntryState(2, "D2", "2026Q2")],
    ...     class_now={"D1": "C", "D2": "B", "D3": "C"},
    ...     rule_class="C",
    ... )
    >>> step.change[1], step.change[2]
    (Change(status='escalated', closed='2026Q3', proposal='pending'), Change(status='improved', closed='2026Q3', proposal=''))
    >>> step.open, step.remove
    ({'D3'}, set())
    """
    step = PublicationStep()
    still_open, listed, kept_new, escalated_now = set(), set(), {}, set()
    for entry in entries:
        if entry.opened == quarter:
            listed.add(entry.dealer)
            if entry.status == OPEN:
                kept_new[entry.dealer] = entry.id
            continue
        if entry.opened > quarter or (entry.status != OPEN and entry.closed != quarter):
            continue
        if entry.proposal in (ACCEPTED, REJECTED):
            if entry.status == ESCALATED:
                escalated_now.add(entry.dealer)
            continue
        status = outcome(class_now.get(entry.dealer), rule_class=rule_class)
        closed = "" if status == OPEN else quarter
        proposal = PENDING if status == ESCALATED else ""
        if (status, closed, proposal) != (entry.status, entry.closed, entry.proposal):
            step.change[entry.id] = Change(status, closed, proposal)
        if status == OPEN:
            still_open.add(entry.dealer)
        elif status == ESCALATED:
            escalated_now.add(entry.dealer)
    wanted = set(qualifying) - escalated_now - still_open
    step.open = wanted - listed
    step.remove = {entry_id for dealer, entry_id in kept_new.items() if dealer not in wanted}
    return step


DUE_SOON_DAYS = 7


def reminder_kind(plan_due: datetime.date, today: datetime.date) -> str | None:
    """Which reminder a plan due on `plan_due` gets `today`: `overdue` after the due date,
    `due_soon` from 7 days before it up to the day, else none.

    >>> day = datetime.date(2026, 9, 30)
    >>> [reminder_kind(day, datetime.date(2026, 9, d)) for d in (22, 23, 30)]
    [None, 'due_soon', 'due_soon']
    >>> reminder_kind(day, datetime.date(2026, 10, 1))
    'overdue'
    """
    if plan_due < today:
        return "overdue"
    if plan_due <= today + datetime.timedelta(days=DUE_SOON_DAYS):
        return "due_soon"
    return None


# The support ledger -------------------------------------------------------------------------


@dataclass(frozen=True)
class SupportRow:
    """One row of the quarter's support by class (DESIGN.md §6.2 `export_support`)."""

    office: str
    grade_class: str  # "" when the dealer has no final class for the quarter
    kind: str
    count: int
    value: Decimal


def support_by_class(entries: Iterable[tuple[str, str, str, Decimal]]) -> list[SupportRow]:
    """Entries `(office, final class or "", kind, value)` of one quarter → count and value per
    office, class and kind, in order of office, class and kind (as text: no class first).

    Hand-worked: SH has two advertising entries to A dealers (100 + 50.5) and one
    promotion to a C dealer (30); BJ one advertising entry to a dealer without a class (20).

    >>> rows = support_by_class([
    ...     ("SH", "A", "advertising", Decimal("100")),
    ...     ("SH", "C", "promotion", Decimal("30")),
    ...     ("BJ", "", "advertising", Decimal("20")),
    ...     ("SH", "A", "advertising", Decimal("50.50")),
    ... ])
    >>> [(r.office, r.grade_class, r.kind, r.count, str(r.value)) for r in rows]
    [('BJ', '', 'advertising', 1, '20'), ('SH', 'A', 'advertising', 2, '150.50'), ('SH', 'C', 'promotion', 1, '30')]
    """
    totals: dict[tuple[str, str, str], list] = {}
    for office, grade_class, kind, value in entries:
        total = totals.setdefault((office, grade_class or "", kind), [0, Decimal(0)])
        total[0] += 1
        total[1] += value
    return [SupportRow(*key, count, value) for key, (count, value) in sorted(totals.items())]


@dataclass
class OfficeSupport:
    """One office's support of a quarter by class, with the two flags of DESIGN.md §5a."""

    office: str
    by_class: dict = field(
        default_factory=dict
    )  # class → {"count", "value", "kinds": {kind: (count, value)}}
    c_supported_count: int = 0  # entries given to C dealers
    c_supported_value: Decimal = Decimal(0)
    a_without_support: int = 0  # A dealers with no entry in the quarter

    @property
    def flagged(self) -> bool:
        return bool(self.c_supported_count or self.a_without_support)


def office_summaries(
    rows: Iterable[SupportRow], a_without_support: Mapping[str, int]
) -> dict[str, OfficeSupport]:
    """Per office: count and value by class (and kind), support to C dealers, A dealers left
    without support — the flags of the report.

    >>> rows = support_by_class([
    ...     ("SH", "A", "advertising", Decimal("100")),
    ...     ("SH", "C", "promotion", Decimal("30")),
    ...     ("SH", "C", "other", Decimal("5")),
    ... ])
    >>> sh = office_summaries(rows, {"SH": 2, "BJ": 1})["SH"]
    >>> sh.by_class["C"]["count"], str(sh.by_class["C"]["value"]), sh.c_supported_count, sh.a_without_support
    (2, '35', 2, 2)
    >>> office_summaries([], {"BJ": 1})["BJ"].flagged
    True
    """
    summaries: dict[str, OfficeSupport] = {}
    for row in rows:
        office = summaries.setdefault(row.office, OfficeSupport(row.office))
        cls = office.by_class.setdefault(row.grade_class, {"count": 0, "value": Decimal(0), "kinds": {}})
        cls["count"] += row.count
        cls["value"] += row.value
        cls["kinds"][row.kind] = (row.count, row.value)
        if row.grade_class == "C":
            office.c_supported_count += row.count
            office.c_supported_value += row.value
    for code, count in a_without_support.items():
        summaries.setdefault(code, OfficeSupport(code)).a_without_support = count
    return dict(sorted(summaries.items()))
