"""The support ledger (DESIGN.md §5a): recording support, and a quarter's support by final class."""

import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Exists, F, FilteredRelation, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from dealers import versions
from dealers.models import Dealer, Office
from dealers.roles import Role, allowed, office_id_of, sees_all_offices
from evalsys.periods import Quarter
from evalsys.tabular import CellError, parse_amount
from scoring.models import Grade
from scoring.services import ScoringError

from . import rules
from .models import SupportEntry, SupportKind

RECORD_ROLES = (Role.SALES_PLANNING, Role.OFFICE_MANAGER)
NOTE_MAX = 500


def may_record(user) -> bool:
    """Sales planning (every office) and office managers (their own office's dealers)."""
    return allowed(user, *RECORD_ROLES)


def check_support(*, dealer: Dealer, date: datetime.date, kind: str, value, note: str) -> list[str]:
    """Every reason the entry cannot be recorded (empty when it can)."""
    errors = []
    if kind not in SupportKind.values:
        errors.append(_("kind: %(kind)s is not a kind of support") % {"kind": kind})
    if date > timezone.localdate():
        errors.append(_("date: in the future"))
    elif date < dealer.joined:
        errors.append(_("date: before the dealer joined (%(day)s)") % {"day": dealer.joined})
    if value is None:
        errors.append(_("value: required"))
    else:
        try:
            parse_amount(value)
        except CellError as exc:
            errors.append(_("value: %(error)s") % {"error": exc})
    if len(note or "") > NOTE_MAX:
        errors.append(_("note: at most %(n)s characters") % {"n": NOTE_MAX})
    return errors


def record_support(
    *, dealer: Dealer, date: datetime.date, kind: str, value: Decimal, note: str = "", user
) -> SupportEntry:
    """Record support given to `dealer`; refused unless `user` may record for the dealer's office."""
    if not may_record(user) or not Dealer.objects.visible_to(user).filter(pk=dealer.pk).exists():
        raise ScoringError(_("You may not record support for %(dealer)s.") % {"dealer": dealer})
    errors = check_support(dealer=dealer, date=date, kind=kind, value=value, note=note)
    if errors:
        raise ScoringError("; ".join(errors))
    entry = SupportEntry(
        dealer=dealer,
        date=date,
        kind=kind,
        value=parse_amount(value),
        note=(note or "").strip(),
        recorded_by=user,
    )
    entry._history_user = user
    with transaction.atomic():
        entry.save()
    return entry


# The quarter report ----------------------------------------------------------------------------
#
# Each figure of the report is cached under the quarter, the reader's scope and the versions
# of what it reads (`dealers.versions`): the grades, the support entries, the dealers and the
# offices. Over a whole company they aggregate the quarter's 112,000 entries of a million.

REPORT_VERSIONS = [versions.GRADES, versions.SUPPORT, versions.DEALERS, versions.OFFICES]


def _scope(user):
    return "all" if user is None or sees_all_offices(user) else ("office", office_id_of(user))


def report_key(*, quarter: Quarter, user) -> tuple | None:
    """What every figure of the report (and the offices' names) is a function of: the quarter,
    the reader's scope and the versions it is cached under (None where nothing is cached).
    Read once per page and passed to each figure."""
    current = versions.versions(REPORT_VERSIONS)
    return None if current is None else (str(quarter), _scope(user), current)


def _cached(name, quarter: Quarter, user, compute, key=None, *extra):
    key = key or report_key(quarter=quarter, user=user)
    if key is None:
        return compute()
    return versions.cached((name, *key, *extra), REPORT_VERSIONS, compute, current=key[2])


def support_rows(*, quarter: Quarter, user=None, key=None) -> list[rules.SupportRow]:
    """The quarter's support by office, final class and kind (`_support_rows`), cached under
    `key` (`report_key`)."""
    return _cached("support-rows", quarter, user, lambda: _support_rows(quarter=quarter, user=user), key)


def a_without_support(*, quarter: Quarter, user=None, key=None) -> dict[str, int]:
    """Office code → A dealers without support in the quarter (`_a_without_support`), cached."""
    return _cached(
        "a-without-support", quarter, user, lambda: _a_without_support(quarter=quarter, user=user), key
    )


def unsupported_a_dealers(*, quarter: Quarter, user=None, limit: int | None = 50, key=None):
    """The first `limit` A dealers left without support (`_unsupported_a_dealers`); the first
    page cached, the whole list (the Excel report) read each time."""
    if limit is None:
        return _unsupported_a_dealers(quarter=quarter, user=user, limit=None)
    return _cached(
        "unsupported-a",
        quarter,
        user,
        lambda: list(_unsupported_a_dealers(quarter=quarter, user=user, limit=limit)),
        key,
        limit,
    )


def supported_c_dealers(*, quarter: Quarter, user=None, limit: int | None = 50, key=None) -> list[Grade]:
    """The C dealers given support, the most supported first (`_supported_c_dealers`); the first
    page cached, the whole list (the Excel report) read each time."""
    if limit is None:
        return _supported_c_dealers(quarter=quarter, user=user, limit=None)
    return _cached(
        "supported-c",
        quarter,
        user,
        lambda: _supported_c_dealers(quarter=quarter, user=user, limit=limit),
        key,
        limit,
    )


def _in_quarter(quarter: Quarter) -> Q:
    return Q(date__gte=quarter.start, date__lte=quarter.end)


def _quarter_entries(quarter: Quarter, user=None):
    entries = SupportEntry.objects.all() if user is None else SupportEntry.objects.visible_to(user)
    return entries.filter(_in_quarter(quarter)).annotate(
        grade=FilteredRelation("dealer__grades", condition=Q(dealer__grades__quarter=str(quarter)))
    )


def _support_rows(*, quarter: Quarter, user=None) -> list[rules.SupportRow]:
    """The quarter's support by office, final class and kind: one aggregate query and the offices.

    The office is the one the dealer belonged to at quarter end (its grade's), else its
    current office when it has no grade for the quarter.
    """
    aggregated = list(
        _quarter_entries(quarter, user)
        .values(
            "kind",
            office_id=Coalesce(F("grade__office_id"), F("dealer__office_id")),
            grade_class=Coalesce(F("grade__final_class"), Value("")),
        )
        .annotate(count=Count("id"), total=Sum("value"))
        .values_list("office_id", "grade_class", "kind", "count", "total")
        .order_by()
    )
    codes = dict(Office.objects.filter(pk__in={row[0] for row in aggregated}).values_list("pk", "code"))
    rows = [
        rules.SupportRow(codes[office_id], grade_class, kind, count, total)
        for office_id, grade_class, kind, count, total in aggregated
    ]
    return sorted(rows, key=lambda r: (r.office, r.grade_class, r.kind))


def _graded(quarter: Quarter, user, final_class: str):
    grades = Grade.objects.all() if user is None else Grade.objects.visible_to(user)
    return grades.filter(quarter=str(quarter), final_class=final_class)


def _supported_in(quarter: Quarter):
    return SupportEntry.objects.filter(_in_quarter(quarter), dealer_id=OuterRef("dealer_id"))


def _a_without_support(*, quarter: Quarter, user=None) -> dict[str, int]:
    """Office code → A dealers of the quarter with no support entry dated within it: counted by
    office id (a hash anti-join and aggregate), the codes read apart."""
    counts = dict(
        _graded(quarter, user, "A")
        .filter(~Exists(_supported_in(quarter)))
        .values("office_id")
        .annotate(n=Count("id"))
        .values_list("office_id", "n")
        .order_by()
    )
    codes = dict(Office.objects.filter(pk__in=counts).values_list("pk", "code"))
    return {codes[office_id]: n for office_id, n in counts.items()}


def _unsupported_a_dealers(*, quarter: Quarter, user=None, limit: int | None = 50):
    """The first `limit` A dealers (by code; all with None) left without support in the quarter."""
    grades = (
        _graded(quarter, user, "A")
        .filter(~Exists(_supported_in(quarter)))
        .select_related("dealer", "office")
        .order_by("dealer__code")
    )
    return grades if limit is None else grades[:limit]


def _supported_c_dealers(*, quarter: Quarter, user=None, limit: int | None = 50) -> list[Grade]:
    """The C dealers given support in the quarter, the most supported first: the first `limit`
    (all with None), each with `support_value` and `support_count`.

    The quarter's entries of C dealers are summed per dealer in one aggregate, ordered and cut
    there; then the grades of those dealers are read: two queries (a sum per grade took 0.37 s
    at 100,000 dealers and 1,000,000 entries, this 0.1 s)."""
    totals = (
        SupportEntry.objects.filter(
            _in_quarter(quarter), dealer_id__in=_graded(quarter, user, "C").values("dealer_id")
        )
        .values("dealer_id")
        .annotate(support_value=Sum("value"), support_count=Count("id"))
        .order_by("-support_value", "dealer__code")
        .values_list("dealer_id", "support_value", "support_count")
    )
    totals = list(totals if limit is None else totals[:limit])
    grades = {
        g.dealer_id: g
        for g in _graded(quarter, user, "C")
        .filter(dealer_id__in=[dealer_id for dealer_id, _value, _count in totals])
        .select_related("dealer", "office")
    }
    result = []
    for dealer_id, value, count in totals:
        grade = grades[dealer_id]
        grade.support_value, grade.support_count = value, count
        result.append(grade)
    return result


EXPORT_COLUMNS = ["quarter", "office", "class", "kind", "count", "value"]


def export_rows(*, quarter: Quarter, user=None):
    """DESIGN.md §6.2 `export_support`: one row per office, final class and kind."""
    for row in _support_rows(quarter=quarter, user=user):
        yield [str(quarter), row.office, row.grade_class or None, row.kind, row.count, row.value]


LEDGER_COLUMNS = ["dealer", "name", "office", "date", "kind", "value", "note"]


def ledger_rows(entries):
    """The ledger as a file the import reads back: by dealer code, then date."""
    for entry in (
        entries.select_related("dealer__office")
        .order_by("dealer__code", "date", "id")
        .iterator(chunk_size=2000)
    ):
        yield [
            entry.dealer.code,
            entry.dealer.name,
            entry.dealer.office.code,
            entry.date,
            entry.kind,
            entry.value,
            entry.note or None,
        ]
