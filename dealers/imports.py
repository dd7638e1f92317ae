"""Importers for offices and dealers (DESIGN.md §6.2)."""

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from evalsys.tabular import Column, Importer, choice, duplicates_in_file, parse_date

from .models import Dealer, DealerKind, DealerStatus, Office
from .moves import last_moves, move_problems, record_moves

KINDS = {
    "exclusive": DealerKind.EXCLUSIVE,
    "专营": DealerKind.EXCLUSIVE,
    "专营经销商": DealerKind.EXCLUSIVE,
    "logistics": DealerKind.LOGISTICS,
    "物流": DealerKind.LOGISTICS,
    "物流商": DealerKind.LOGISTICS,
}
STATUSES = {
    "active": DealerStatus.ACTIVE,
    "正常": DealerStatus.ACTIVE,
    "suspended": DealerStatus.SUSPENDED,
    "暂停": DealerStatus.SUSPENDED,
    "churned": DealerStatus.CHURNED,
    "流失": DealerStatus.CHURNED,
}


def _apply(row, instance, values: dict) -> None:
    """Apply `values` to `instance`; set the row's action and the names of what changed."""
    for name, value in values.items():
        before = getattr(instance, name)
        if before != value:
            # As the preview shows it: a choice by its label, an office or a user by code or username.
            label = getattr(instance, f"get_{name}_display", None)
            row.previous[name] = (
                label() if label else getattr(before, "code", None) or getattr(before, "username", before)
            )
            setattr(instance, name, value)
            row.changes.append(name)
    row.action = "changed" if row.changes else "unchanged"


class OfficeImporter(Importer):
    title = gettext_lazy("Import offices")
    columns = (
        Column("code", "编码"),
        Column("name", "名称"),
        Column("region", "区域", required=False),
    )

    def check(self, rows):
        duplicates_in_file(rows, lambda r: r.values["code"], _("office code"))
        existing = Office.objects.in_bulk([r.values["code"] for r in rows], field_name="code")
        self._pending = []
        for row in rows:
            values = {"name": row.values["name"]}
            if "region" in row.values:  # a file without the column keeps the regions
                values["region"] = row.values["region"] or ""
            office = existing.get(row.values["code"])
            if office is None:
                row.action = "new"
                self._pending.append((row, Office(code=row.values["code"], **values)))
            else:
                _apply(row, office, values)
                self._pending.append((row, office))

    def save(self, rows):
        new = [o for r, o in self._pending if r.action == "new"]
        changed = [o for r, o in self._pending if r.action == "changed"]
        bulk_create_with_history(new, Office, batch_size=1000, default_user=self.user)
        if changed:
            bulk_update_with_history(
                changed, Office, ["name", "region"], batch_size=1000, default_user=self.user
            )
        return {"new": len(new), "changed": len(changed)}


DEALER_FIELDS = [
    "name",
    "kind",
    "office",
    "tier",
    "business_manager",
    "joined",
    "status",
    "churned_on",
    "contact",
    "phone",
    "region",
]


OPTIONAL_TEXT_FIELDS = ["tier", "contact", "phone", "region"]
MOVED_ON = Column("moved_on", "调动日期", required=False, parse=parse_date)


class DealerImporter(Importer):
    """Dealers by code: new codes are created, known codes updated.

    With a `user` who does not see every office, rows for other offices are refused.
    """

    title = gettext_lazy("Import dealers")
    columns = (
        Column("code", "编码"),
        Column("name", "名称"),
        Column("kind", "类型", parse=choice(KINDS)),
        Column("office", "办事处"),
        Column("tier", "级别", required=False),
        Column("business_manager", "业务经理", required=False),
        Column("joined", "加入日期", parse=parse_date),
        Column("status", "状态", required=False, parse=choice(STATUSES)),
        Column("churned_on", "流失日期", required=False, parse=parse_date),
        Column("contact", "联系人", required=False),
        Column("phone", "电话", required=False),
        Column("region", "区域", required=False),
        MOVED_ON,
    )

    def check(self, rows):
        duplicates_in_file(rows, lambda r: r.values["code"], _("dealer code"))
        today = timezone.localdate()
        offices = Office.objects.in_bulk({r.values["office"] for r in rows}, field_name="code")
        allowed_offices = (
            set(Office.objects.visible_to(self.user).values_list("code", flat=True)) if self.user else None
        )
        usernames = {r.values["business_manager"] for r in rows if r.values.get("business_manager")}
        users = get_user_model().objects.in_bulk(usernames, field_name="username")
        existing = Dealer.objects.select_related("office").in_bulk(
            [r.values["code"] for r in rows], field_name="code"
        )
        moved = last_moves(d.pk for d in existing.values())
        self._pending = []
        self._moves = []
        for row in rows:
            v = row.values
            dealer = existing.get(v["code"])
            office = offices.get(v["office"])
            if office is None:
                row.errors.append(_("office: unknown office code %(code)s") % {"code": v["office"]})
            elif allowed_offices is not None and office.code not in allowed_offices:
                row.errors.append(
                    _("office: you may not import dealers of office %(code)s") % {"code": office.code}
                )
            if (
                dealer is not None
                and allowed_offices is not None
                and dealer.office.code not in allowed_offices
            ):
                row.errors.append(_("code: dealer %(code)s belongs to another office") % {"code": v["code"]})
            values = {"name": v["name"], "kind": v["kind"], "office": office, "joined": v["joined"]}
            # A column the file leaves out keeps what a known dealer has; an empty cell clears it.
            for name in OPTIONAL_TEXT_FIELDS:
                if name in v:
                    values[name] = v[name] or ""
            if "business_manager" in v:
                values["business_manager"] = None
                if v["business_manager"]:
                    values["business_manager"] = users.get(v["business_manager"])
                    if values["business_manager"] is None:
                        row.errors.append(
                            _("business_manager: unknown user %(name)s") % {"name": v["business_manager"]}
                        )
            status = v.get("status") or DealerStatus.ACTIVE
            if "status" not in v and dealer is not None:
                status = dealer.status
            churned_on = v.get("churned_on") if "churned_on" in v or dealer is None else dealer.churned_on
            if status == DealerStatus.CHURNED and churned_on is None:
                row.errors.append(_("churned_on: required when the status is churned"))
            if status != DealerStatus.CHURNED and churned_on is not None:
                row.errors.append(_("churned_on: only a churned dealer has a churn date"))
            if churned_on and churned_on < v["joined"]:
                row.errors.append(_("churned_on: before the joined date"))
            moved_on = None
            if dealer is not None and office is not None and dealer.office_id != office.pk:
                # A changed office is a move, as of the file's date or today (DESIGN.md §3.4).
                moved_on = v.get("moved_on") or today
                for problem in move_problems(
                    moved_on=moved_on, joined=v["joined"], last_move=moved.get(dealer.pk), today=today
                ):
                    row.errors.append(MOVED_ON.error(problem))
            if row.errors:
                continue
            values.update(status=status, churned_on=churned_on)
            if dealer is None:
                row.action = "new"
                self._pending.append((row, Dealer(code=v["code"], **values)))
            else:
                if moved_on is not None:
                    self._moves.append((dealer, dealer.office_id, moved_on))
                _apply(row, dealer, values)
                self._pending.append((row, dealer))

    def save(self, rows):
        new = [d for r, d in self._pending if r.action == "new"]
        changed = [d for r, d in self._pending if r.action == "changed"]
        bulk_create_with_history(new, Dealer, batch_size=1000, default_user=self.user)
        if changed:
            bulk_update_with_history(changed, Dealer, DEALER_FIELDS, batch_size=1000, default_user=self.user)
        record_moves(moves=self._moves, user=self.user)
        return {"new": len(new), "changed": len(changed)}
