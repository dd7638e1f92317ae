"""Importing visits, e.g. from paper logs (DESIGN.md §6.2)."""

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dealers.models import Dealer
from dealers.staff import people_by_username, person_problem
from evalsys.tabular import (
    CellError,
    Column,
    Importer,
    code,
    described,
    duplicates_in_file,
    parse_date,
    parse_int,
)

from .models import Visit


@described(gettext_lazy("a rating from 1 to 5"), "4")
def parse_effect(value) -> int:
    effect = parse_int(value)
    if not 1 <= effect <= 5:
        raise CellError(_("the effect rating is 1 to 5, not %(value)s") % {"value": value})
    return effect


class VisitImporter(Importer):
    """Visits are added; a row equal to a stored visit (dealer, date, visitor, purpose) is left unchanged.

    With a `user` who does not see every office, visits to other offices' dealers are refused.
    """

    title = gettext_lazy("Import visits")
    columns = (
        Column("dealer", "经销商编码", parse=code, rule=gettext_lazy("dealer code"), example="SH001"),
        Column("date", "日期", parse=parse_date),
        Column(
            "visitor",
            "拜访人",
            parse=code,
            rule=gettext_lazy("user name of staff of the dealer's office, or of sales planning or the VP"),
            example="bm1_sh",
        ),
        Column("purpose", "目的", example="季度回访"),
        Column("effect", "效果", parse=parse_effect, example="4"),
        Column("findings", "发现", required=False, example="新品陈列到位"),
    )

    def check(self, rows):
        key = lambda r: (r.values["dealer"], r.values["date"], r.values["visitor"], r.values["purpose"])  # noqa: E731
        duplicates_in_file(rows, key, _("visit"))
        dealers = (
            Dealer.objects.select_related("office")
            if self.user is None
            else Dealer.objects.visible_to(self.user).select_related("office")
        )
        dealers = dealers.in_bulk({r.values["dealer"] for r in rows if r.has("dealer")}, field_name="code")
        people = people_by_username({r.values["visitor"] for r in rows if r.has("visitor")})
        stored = set(
            Visit.objects.filter(
                dealer__in=dealers.values(), date__in={r.values["date"] for r in rows if r.has("date")}
            ).values_list("dealer__code", "date", "visitor__username", "purpose")
        )
        today = timezone.localdate()
        self._pending = []
        for row in rows:
            v = row.values
            dealer = dealers.get(v.get("dealer"))
            if row.has("dealer") and dealer is None:
                # another office's dealer reads exactly like one that does not exist
                self.reject(row, "dealer", _("unknown dealer code %(code)s") % {"code": v["dealer"]})
            if dealer is not None and row.has("date") and v["date"] < dealer.joined:
                self.reject(row, "date", _("before the dealer joined (%(day)s)") % {"day": dealer.joined})
            if row.has("date") and v["date"] > today:
                self.reject(row, "date", _("in the future"))
            visitor = people.get(v.get("visitor"))
            if dealer is not None and row.has("visitor"):
                problem = person_problem(
                    visitor, name=v["visitor"], office=dealer.office, importer=self.user, company_wide_ok=True
                )
                if problem:
                    self.reject(row, "visitor", problem)
            if row.errors:
                continue
            if key(row) in stored:
                row.action = "unchanged"
                continue
            row.action = "new"
            self._pending.append(
                Visit(
                    dealer=dealer,
                    visitor=visitor.user,
                    date=v["date"],
                    purpose=v["purpose"][:200],
                    effect=v["effect"],
                    findings=v.get("findings") or "",
                )
            )

    def save(self, rows):
        Visit.objects.bulk_create(self._pending, batch_size=1000)
        return {"new": len(self._pending)}
