"""The follow-through's rules (DESIGN.md §5a), worked out by hand."""

import doctest
from decimal import Decimal

from scoring.followup import rules
from scoring.followup.rules import Change, EntryState, publication_step


def test_the_docstring_examples_hold():
    failures, tried = doctest.testmod(rules)
    assert tried > 0 and failures == 0


# Selection across quarters -------------------------------------------------------------------


def test_a_dealer_is_watched_only_when_each_of_the_last_quarters_is_c():
    assert rules.qualifies(["C", "C"], rule_class="C", quarters=2)
    assert not rules.qualifies(["C", "B"], rule_class="C", quarters=2)
    assert not rules.qualifies(["B", "C"], rule_class="C", quarters=2)
    # only the newest two count: an older B does not save it
    assert rules.qualifies(["C", "C", "B"], rule_class="C", quarters=2)


def test_a_new_dealer_or_one_missing_a_quarter_is_not_watched():
    assert not rules.qualifies(["C"], rule_class="C", quarters=2)
    assert not rules.qualifies(["C", None], rule_class="C", quarters=2)
    assert not rules.qualifies(["C", ""], rule_class="C", quarters=2)


def test_the_rule_takes_its_class_and_number_of_quarters_from_the_admin():
    # class B means "B or below"; three quarters means three
    assert rules.qualifies(["B", "C", "B"], rule_class="B", quarters=3)
    assert not rules.qualifies(["B", "C", "A"], rule_class="B", quarters=3)
    assert rules.qualifies(["C"], rule_class="C", quarters=1)


# Closing: improved or escalated ----------------------------------------------------------------


def test_an_open_entry_is_improved_above_the_rule_class_and_escalated_at_or_below_it():
    assert rules.outcome("A", rule_class="C") == "improved"
    assert rules.outcome("B", rule_class="C") == "improved"
    assert rules.outcome("C", rule_class="C") == "escalated"
    assert rules.outcome("B", rule_class="B") == "escalated"
    assert rules.outcome("", rule_class="C") == "open"


def test_publishing_escalates_improves_and_opens_by_hand():
    # given D1 and D2 on the list since 2026Q2, D3 C in 2026Q2 and 2026Q3, D4 C only now
    step = publication_step(
        quarter="2026Q3",
        qualifying={"D1", "D3"},
        entries=[EntryState(1, "D1", "2026Q2"), EntryState(2, "D2", "2026Q2")],
        class_now={"D1": "C", "D2": "A", "D3": "C", "D4": "C"},
        rule_class="C",
    )
    # then D1 is escalated to an elimination proposal (and not listed again), D2 improved,
    # D3 opened, D4 not
    assert step.change == {
        1: Change("escalated", "2026Q3", "pending"),
        2: Change("improved", "2026Q3", ""),
    }
    assert step.open == {"D3"}
    assert step.remove == set()


def test_an_entry_whose_dealer_has_no_grade_stays_open():
    step = publication_step(
        quarter="2026Q3",
        qualifying=set(),
        entries=[EntryState(1, "D1", "2026Q2")],
        class_now={},
        rule_class="C",
    )
    assert step.change == {} and step.open == set()


def test_an_entry_of_a_later_quarter_is_untouched_when_an_earlier_one_is_published():
    step = publication_step(
        quarter="2026Q2",
        qualifying=set(),
        entries=[EntryState(1, "D1", "2026Q3")],
        class_now={"D1": "A"},
        rule_class="C",
    )
    assert step.change == {} and step.remove == set()


# Re-publication ------------------------------------------------------------------------------


def _apply(entries, step, quarter):
    """The stored entries after `step`, as the service writes them."""
    result = []
    for e in entries:
        if e.id in step.remove:
            continue
        c = step.change.get(e.id)
        result.append(EntryState(e.id, e.dealer, e.opened, c.status, c.closed, c.proposal) if c else e)
    for n, dealer in enumerate(sorted(step.open)):
        result.append(EntryState(f"new{n}", dealer, quarter))
    return result


def test_publishing_the_same_quarter_again_changes_nothing():
    # given the first publication of 2026Q3 applied
    entries = [EntryState(1, "D1", "2026Q2"), EntryState(2, "D2", "2026Q2")]
    args = {"quarter": "2026Q3", "qualifying": {"D1", "D3"}, "class_now": {"D1": "C", "D2": "B", "D3": "C"}}
    first = publication_step(entries=entries, rule_class="C", **args)
    stored = _apply(entries, first, "2026Q3")
    # when it is published again with the same classes
    again = publication_step(entries=stored, rule_class="C", **args)
    # then nothing changes
    assert again.change == {} and again.open == set() and again.remove == set()


def test_republishing_after_a_class_changed_rejudges_and_removes_what_no_longer_holds():
    # given 2026Q3 published once: D1 escalated, D3 opened
    stored = [
        EntryState(1, "D1", "2026Q2", "escalated", "2026Q3", "pending"),
        EntryState(2, "D3", "2026Q3"),
    ]
    # when it is reopened, D1 and D3 are overridden to B, and it is published again
    step = publication_step(
        quarter="2026Q3",
        qualifying=set(),
        entries=stored,
        class_now={"D1": "B", "D3": "B"},
        rule_class="C",
    )
    # then D1's entry is improved instead, and D3's entry of this quarter is removed
    assert step.change == {1: Change("improved", "2026Q3", "")}
    assert step.remove == {2}


def test_republishing_an_earlier_quarter_keeps_entries_a_later_publication_closed():
    # given 2026Q2 opened D1's entry and 2026Q3 closed it as improved
    stored = [EntryState(1, "D1", "2026Q2", "improved", "2026Q3")]
    # when 2026Q2 is published again
    step = publication_step(
        quarter="2026Q2", qualifying={"D1"}, entries=stored, class_now={"D1": "C"}, rule_class="C"
    )
    # then nothing changes: D1 is not listed a second time in 2026Q2
    assert step.change == {} and step.open == set() and step.remove == set()


def test_a_decided_proposal_is_never_undone_by_a_republication():
    stored = [EntryState(1, "D1", "2026Q2", "escalated", "2026Q3", "rejected")]
    step = publication_step(
        quarter="2026Q3", qualifying={"D1"}, entries=stored, class_now={"D1": "B"}, rule_class="C"
    )
    # the rejected proposal stands, and the dealer is not listed again in the same quarter
    assert step.change == {} and step.open == set()


# Support by class ----------------------------------------------------------------------------


def test_support_by_class_counts_and_sums_per_office_class_and_kind_by_hand():
    # given SH: A dealer 2 advertising (1000 + 500.50), 1 promotion (200); C dealer 1 other (80)
    #       BJ: dealer without a class 1 advertising (300)
    rows = rules.support_by_class(
        [
            ("SH", "A", "advertising", Decimal("1000")),
            ("SH", "A", "promotion", Decimal("200")),
            ("SH", "C", "other", Decimal("80")),
            ("BJ", "", "advertising", Decimal("300")),
            ("SH", "A", "advertising", Decimal("500.50")),
        ]
    )
    # then one row per office, class, kind, in that order (no class first)
    assert [(r.office, r.grade_class, r.kind, r.count, r.value) for r in rows] == [
        ("BJ", "", "advertising", 1, Decimal("300")),
        ("SH", "A", "advertising", 2, Decimal("1500.50")),
        ("SH", "A", "promotion", 1, Decimal("200")),
        ("SH", "C", "other", 1, Decimal("80")),
    ]
    # and per office: A has 3 entries worth 1700.50; C support is flagged (1 entry, 80)
    summaries = rules.office_summaries(rows, {"SH": 1})
    sh = summaries["SH"]
    assert sh.by_class["A"]["count"] == 3 and sh.by_class["A"]["value"] == Decimal("1700.50")
    assert (sh.c_supported_count, sh.c_supported_value, sh.a_without_support) == (1, Decimal("80"), 1)
    assert not summaries["BJ"].flagged
    assert list(summaries) == ["BJ", "SH"]
