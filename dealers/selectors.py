"""Reading a dealer's office on a past day from its moves (DESIGN.md §3.4).

The rule: a dealer belongs to a move's `to_office` from its `moved_on` day on,
so its office on day D is the `from_office` of its earliest move dated after D,
or its current office when no move is dated after D. Dealers that never moved
have no move rows and are read at their current office.
"""

import datetime

from django.db.models import BigIntegerField, Case, F, OuterRef, Q, Subquery, When
from django.db.models.functions import Coalesce

from .models import DealerMove


def office_on_expression(day: datetime.date, *, dealer: str = "pk", office: str = "office_id"):
    """The office id on `day` of the dealer whose id is the outer query's `dealer` field and whose
    current office id is its `office` field, e.g.
    `Dealer.objects.annotate(office_on=office_on_expression(day))`, or on grades
    `office_on_expression(day, dealer="dealer_id", office="dealer__office_id")`.

    The per-row subquery runs only for the dealers with a move dated after `day`, found by one
    uncorrelated subquery that PostgreSQL hashes once: over 100,000 dealers the correlated
    subquery for every row took 0.19 s, this 0.03 s (the same office for every row)."""
    later = (
        DealerMove.objects.filter(dealer_id=OuterRef(dealer), moved_on__gt=day)
        .order_by("moved_on", "id")
        .values("from_office_id")[:1]
    )
    moved_after = DealerMove.objects.filter(moved_on__gt=day).values("dealer_id")
    return Case(
        When(Q(**{f"{dealer}__in": moved_after}), then=Coalesce(Subquery(later), F(office))),
        default=F(office),
        output_field=BigIntegerField(),
    )


def office_on_sql(alias: str = "d", day: str = "%(end)s") -> str:
    """The same as SQL for raw statements: the office id on the day bound at `day` of the dealer
    row `alias` of the dealers table. `day` is the placeholder, e.g. `%(end)s` or `%s`."""
    table = DealerMove._meta.db_table
    return (
        f"COALESCE((SELECT m.from_office_id FROM {table} m WHERE m.dealer_id = {alias}.id "
        f"AND m.moved_on > {day} ORDER BY m.moved_on, m.id LIMIT 1), {alias}.office_id)"
    )


OFFICE_ON_SQL = office_on_sql("d", "%s")


def office_on(dealer, day: datetime.date) -> int:
    """The office id of one `dealer` (an instance) on `day`: one query."""
    move = dealer.moves.filter(moved_on__gt=day).order_by("moved_on", "id").values("from_office_id").first()
    return move["from_office_id"] if move else dealer.office_id
