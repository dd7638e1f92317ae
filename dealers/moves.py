"""Recording a dealer's change of office (DESIGN.md §3.4, §6.2 `moved_on`).

Every path that changes a dealer's office (the dealer import, the admin's
form and its spreadsheet import) records the move here, so that past
quarters keep reading the office the dealer belonged to then.
"""

import datetime
from collections.abc import Iterable

from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from .freeze import published_quarter_since
from .models import Dealer, DealerMove


class MoveError(ValueError):
    """A move the rules refuse; the message says why."""


def move_problems(
    *, moved_on: datetime.date, joined: datetime.date, last_move: datetime.date | None, today: datetime.date
) -> list[str]:
    """Why a move dated `moved_on` is refused, for a dealer that joined on `joined` and last
    moved on `last_move`; empty when it is allowed.

    >>> d = datetime.date
    >>> move_problems(moved_on=d(2026, 7, 1), joined=d(2020, 1, 1), last_move=None, today=d(2026, 7, 1))
    []
    >>> len(move_problems(moved_on=d(2026, 7, 2), joined=d(2026, 7, 5), last_move=None, today=d(2026, 7, 1)))
    2
    """
    problems = []
    if moved_on > today:
        problems.append(_("the move date %(day)s is in the future") % {"day": moved_on})
    if moved_on < joined:
        problems.append(_("the move date %(day)s is before the dealer joined") % {"day": moved_on})
    if last_move is not None and moved_on < last_move:
        problems.append(
            _("the move date %(day)s is before the dealer's last move on %(last)s")
            % {"day": moved_on, "last": last_move}
        )
    return problems


def published_problem(moved_on: datetime.date, today: datetime.date, seen: dict | None = None) -> str | None:
    """Why a move dated `moved_on` is refused because a published quarter ends on or after that
    day (the move would change which office that quarter's dealer belonged to); None otherwise.

    `seen` (quarter of the move date → answer) lets an import ask once per quarter, not per row.
    """
    key = (moved_on.year, (moved_on.month - 1) // 3)
    if seen is not None and key in seen:
        quarter = seen[key]
    else:
        quarter = published_quarter_since(moved_on, today)
        if seen is not None:
            seen[key] = quarter
    if quarter is None:
        return None
    return _("the move date %(day)s is in or before %(quarter)s, which is published: its data are frozen") % {
        "day": moved_on,
        "quarter": quarter,
    }


def last_moves(dealer_ids: Iterable[int]) -> dict[int, datetime.date]:
    """dealer id → date of its latest move, for those that moved: one query."""
    return dict(
        DealerMove.objects.filter(dealer_id__in=list(dealer_ids))
        .values("dealer_id")
        .annotate(last=Max("moved_on"))
        .values_list("dealer_id", "last")
    )


def record_moves(*, moves: list[tuple[Dealer, int, datetime.date]], user=None) -> int:
    """Record each (dealer, office id it leaves, moved_on) as a move to the dealer's `office`.

    The dealers themselves are saved by the caller in the same transaction; a
    move the rules refuse raises `MoveError` naming the dealer. A move dated in or before a
    published quarter is refused here, the quarters' grading rows locked until the transaction
    ends (`dealers.freeze`), so a quarter published meanwhile cannot slip between check and write.
    """
    today = timezone.localdate()
    seen: dict = {}
    last = last_moves(d.pk for d, _from, _on in moves)
    rows = []
    for dealer, from_office_id, moved_on in moves:
        if from_office_id == dealer.office_id:
            continue
        problems = move_problems(
            moved_on=moved_on, joined=dealer.joined, last_move=last.get(dealer.pk), today=today
        )
        if not problems and (frozen := published_problem(moved_on, today, seen)):
            problems.append(frozen)
        if problems:
            raise MoveError(
                _("%(dealer)s: %(problems)s") % {"dealer": dealer.code, "problems": "; ".join(problems)}
            )
        rows.append(
            DealerMove(
                dealer=dealer,
                from_office_id=from_office_id,
                to_office_id=dealer.office_id,
                moved_on=moved_on,
                created_by=user,
            )
        )
    bulk_create_with_history(rows, DealerMove, batch_size=500, default_user=user)
    return len(rows)
