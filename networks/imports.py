"""Importing visits, e.g. from paper logs (DESIGN.md §6.2)."""

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dealers.models import Dealer
from evalsys.tabular import CellError, Column, Importer, duplicates_in_file, parse_date, parse_int

from .models import Visit


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
        Column("dealer", "经销商编码"),
        Column("date", "日期", parse=parse_date),
        Column("visitor", "拜访人"),
        Column("purpose", "目的"),
        Column("effect", "效果", parse=parse_effect),
        Column("findings", "发现", required=False),
    )

    def check(self, rows):
        key = lambda r: (r.values["dealer"], r.values["date"], r.values["visitor"], r.values["purpose"])  # noqa: E731
        duplicates_in_file(rows, key, _("visit"))
        dealers = Dealer.objects.all() if self.user is None else Dealer.objects.visible_to(self.user)
        dealers = dealers.in_bulk({r.values["dealer"] for r in rows}, field_name="code")
        users = get_user_model().objects.in_bulk({r.values["visitor"] for r in rows}, field_name="username")
        stored = set(
            Visit.objects.filter(
                dealer__in=dealers.values(), date__in={r.values["date"] for r in rows}
            ).values_list("dealer__code", "date", "visitor__username", "purpose")
        )
        today = timezone.localdate()
        self._pending = []
        for row in rows:
            v = row.values
            dealer = dealers.get(v["dealer"])
            visitor = users.get(v["visitor"])
            if dealer is None:
                row.errors.append(_("dealer: unknown dealer code %(code)s") % {"code": v["dealer"]})
            elif v["date"] < dealer.joined:
                row.errors.append(_("date: before the dealer joined (%(day)s)") % {"day": dealer.joined})
            if v["date"] > today:
                row.errors.append(_("date: in the future"))
            if visitor is None:
                row.errors.append(_("visitor: unknown user %(name)s") % {"name": v["visitor"]})
            if row.errors:
                continue
            if key(row) in stored:
                row.action = "unchanged"
                continue
            row.action = "new"
            self._pending.append(
                Visit(
                    dealer=dealer,
                    visitor=visitor,
                    date=v["date"],
                    purpose=v["purpose"][:200],
                    effect=v["effect"],
                    findings=v.get("findings") or "",
                )
            )

    def save(self, rows):
        Visit.objects.bulk_create(self._pending, batch_size=1000)
        return {"new": len(self._pending)}
