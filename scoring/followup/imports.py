"""Importing the support ledger (DESIGN.md §6.2 `support` file)."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history

from dealers.models import Dealer
from evalsys.tabular import Column, Importer, choice, code, duplicates_in_file, parse_amount, parse_date

from . import support
from .models import SupportEntry, SupportKind

KINDS = {
    **{value: value for value in SupportKind.values},
    "广告支持": SupportKind.ADVERTISING,
    "新品率先投放": SupportKind.NEW_PRODUCT,
    "强力促销": SupportKind.PROMOTION,
    "特供品": SupportKind.SPECIAL_SUPPLY,
    "其他": SupportKind.OTHER,
}


class SupportImporter(Importer):
    """Support entries are added; a row equal to a stored entry (dealer, date, kind, value, note) is
    left unchanged, so importing the same file twice adds nothing.

    With a `user` who does not see every office, other offices' dealers are unknown codes.
    """

    title = gettext_lazy("Import support")
    columns = (
        Column("dealer", "经销商编码", parse=code, rule=gettext_lazy("dealer code"), example="SH001"),
        Column("date", "日期", parse=parse_date),
        Column("kind", "类型", parse=choice(KINDS)),
        Column("value", "金额", parse=parse_amount),
        Column("note", "说明", required=False, example="五一促销海报"),
    )

    def key(self, row):
        v = row.values
        return (v["dealer"], v["date"], v["kind"], v["value"], v.get("note") or "")

    def check(self, rows):
        duplicates_in_file(rows, self.key, _("support entry"))
        dealers = Dealer.objects.all() if self.user is None else Dealer.objects.visible_to(self.user)
        dealers = dealers.in_bulk({r.values["dealer"] for r in rows if r.has("dealer")}, field_name="code")
        stored = set(
            SupportEntry.objects.filter(
                dealer__in=dealers.values(), date__in={r.values["date"] for r in rows if r.has("date")}
            ).values_list("dealer__code", "date", "kind", "value", "note")
        )
        self._pending = []
        if self.user is not None and not support.may_record(self.user):
            for row in rows:
                row.errors.append(_("You may not record support."))
            return
        for row in rows:
            v = row.values
            dealer = dealers.get(v.get("dealer"))
            if row.has("dealer") and dealer is None:
                # another office's dealer reads exactly like one that does not exist
                self.reject(row, "dealer", _("unknown dealer code %(code)s") % {"code": v["dealer"]})
            if dealer is not None and row.has("date", "kind", "value"):
                row.errors.extend(
                    support.check_support(
                        dealer=dealer,
                        date=v["date"],
                        kind=v["kind"],
                        value=v["value"],
                        note=v.get("note") or "",
                    )
                )
            if row.errors:
                continue
            if self.key(row) in stored:
                row.action = "unchanged"
                continue
            row.action = "new"
            self._pending.append(
                SupportEntry(
                    dealer=dealer,
                    date=v["date"],
                    kind=v["kind"],
                    value=v["value"],
                    note=v.get("note") or "",
                    recorded_by=self.user,
                )
            )

    def save(self, rows):
        bulk_create_with_history(self._pending, SupportEntry, batch_size=1000, default_user=self.user)
        return {"new": len(self._pending)}
