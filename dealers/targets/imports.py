"""Importers for annual agreements, agreed monthly targets and actual sales (DESIGN.md §6.2)."""

import datetime

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from evalsys.bulk import CHANGED, CREATED, history_from_rows, insert_rows, narrowed
from evalsys.periods import format_month
from evalsys.tabular import (
    Column,
    Importer,
    ImportRefused,
    code,
    duplicates_in_file,
    parse_amount,
    parse_date,
    parse_int,
    parse_month_cell,
)

from ..freeze import FrozenPeriod, ensure_months_open, frozen_message, frozen_months
from ..models import (
    AnnualAgreement,
    Dealer,
    MonthlySales,
    MonthlyTarget,
    TargetStatus,
    TargetStep,
    TargetVersion,
)
from .points import recompute_points
from .rules import agreement_in_force, month_closed, timeliness
from .services import deadline_day

BATCH = 2000
DEALER = Column("dealer", "经销商编码", parse=code, rule=gettext_lazy("dealer code"), example="SH001")


class DealerRowsImporter(Importer):
    """Rows that name a dealer by code; with a `user`, only dealers of the offices he sees."""

    def refuse_frozen_months(self, rows) -> None:
        """A row for a month of a published quarter is refused, naming the quarter (DESIGN.md §3.4)."""
        frozen = frozen_months(r.values["month"] for r in rows if r.has("month"))
        for row in rows:
            if row.values.get("month") in frozen:
                self.reject(row, "month", frozen_message(frozen[row.values["month"]]))

    @staticmethod
    def ensure_open(months) -> None:
        """Inside the saving transaction: a quarter published since the check refuses the whole file."""
        try:
            ensure_months_open(months)
        except FrozenPeriod as exc:
            raise ImportRefused(str(exc)) from None

    def resolve_dealers(self, rows) -> dict[str, int]:
        """Map each row's dealer code to the dealer id; an unknown code is a row error.

        With a `user`, a dealer of an office he does not see (`visible_to`) is unknown too,
        with the same message: a file does not tell him which codes exist elsewhere.
        """
        codes = {r.values["dealer"] for r in rows if r.has("dealer")}
        dealers = Dealer.objects.all() if self.user is None else Dealer.objects.visible_to(self.user)
        # (for a large file every visible dealer is read: listing 100,000 codes cost more)
        known = {
            code: pk
            for code, pk in narrowed(dealers, "code", codes)
            .values_list("code", "id")
            .iterator(chunk_size=10000)
            if code in codes
        }
        for row in rows:
            if row.has("dealer") and row.values["dealer"] not in known:
                self.reject(row, "dealer", _("unknown dealer code %(code)s") % {"code": row.values["dealer"]})
        return known


class AgreementImporter(DealerRowsImporter):
    title = gettext_lazy("Import annual agreements")
    columns = (
        DEALER,
        Column("year", "年度", parse=parse_int),
        Column("signed", "签订日期", parse=parse_date),
        Column("annual_target", "年度目标", parse=parse_amount),
    )

    def check(self, rows):
        duplicates_in_file(rows, lambda r: (r.values["dealer"], r.values["year"]), _("dealer and year"))
        ids = self.resolve_dealers(rows)
        existing = {
            (a.dealer_id, a.year): a
            for a in AnnualAgreement.objects.filter(
                dealer_id__in=ids.values(), year__in={r.values["year"] for r in rows if r.has("year")}
            )
        }
        self._pending = []
        for row in rows:
            v = row.values
            if row.has("year") and not 2000 <= v["year"] <= 2100:
                self.reject(row, "year", _("not a year: %(value)s") % {"value": v["year"]})
            if row.errors:
                continue
            dealer_id = ids[v["dealer"]]
            agreement = existing.get((dealer_id, v["year"]))
            if agreement is None:
                row.action = "new"
                agreement = AnnualAgreement(
                    dealer_id=dealer_id,
                    year=v["year"],
                    signed_on=v["signed"],
                    annual_target=v["annual_target"],
                )
            elif (agreement.signed_on, agreement.annual_target) != (v["signed"], v["annual_target"]):
                row.action = "changed"
                row.previous = {"signed": agreement.signed_on, "annual_target": agreement.annual_target}
                agreement.signed_on, agreement.annual_target = v["signed"], v["annual_target"]
            else:
                row.action = "unchanged"
            self._pending.append((row, agreement))

    def save(self, rows):
        new = [a for r, a in self._pending if r.action == "new"]
        changed = [a for r, a in self._pending if r.action == "changed"]
        bulk_create_with_history(new, AnnualAgreement, batch_size=BATCH, default_user=self.user)
        if changed:
            bulk_update_with_history(
                changed,
                AnnualAgreement,
                ["signed_on", "annual_target"],
                batch_size=BATCH,
                default_user=self.user,
            )
        return {"new": len(new), "changed": len(changed)}


class TargetImporter(DealerRowsImporter):
    """Agreed monthly targets, for migrating history (DESIGN.md §4).

    `agreed_on` (optional) is the day each target was agreed: on time or late by it, and the
    annual agreement must be signed by then; without it the target is `imported`, neither.
    A month without an annual agreement is refused, and so is a different amount for a month
    that has begun and already has its agreed target: sales planning corrects that on the
    targets page, with a reason.
    """

    title = gettext_lazy("Import agreed monthly targets")
    columns = (
        DEALER,
        Column("month", "月份", parse=parse_month_cell),
        Column("target", "目标", parse=parse_amount),
        Column("agreed_on", "确定日期", required=False, parse=parse_date),
    )

    def check(self, rows):
        duplicates_in_file(rows, lambda r: (r.values["dealer"], r.values["month"]), _("dealer and month"))
        self.refuse_frozen_months(rows)
        ids = self.resolve_dealers(rows)
        months = {r.values["month"] for r in rows if r.has("month")}
        today = timezone.localdate()
        agreements = {
            (dealer_id, year): signed_on
            for dealer_id, year, signed_on in AnnualAgreement.objects.filter(
                dealer_id__in=ids.values(), year__in={m.year for m in months}
            ).values_list("dealer_id", "year", "signed_on")
        }
        existing = {
            (t.dealer_id, t.month): t
            for t in MonthlyTarget.objects.filter(dealer_id__in=ids.values(), month__in=months)
        }
        self._pending = []
        for row in rows:
            v = row.values
            if row.has("target") and v["target"] <= 0:
                self.reject(row, "target", _("must be greater than zero"))
            agreed_on = v.get("agreed_on")
            if agreed_on is not None and agreed_on > today:
                self.reject(row, "agreed_on", _("%(day)s is in the future") % {"day": agreed_on.isoformat()})
            dealer_id = ids.get(v.get("dealer"))
            if dealer_id is not None and row.has("month"):
                signed_on = agreements.get((dealer_id, v["month"].year))
                if signed_on is None:
                    self.reject(
                        row,
                        "month",
                        _("%(dealer)s has no annual agreement for %(year)s")
                        % {"dealer": v["dealer"], "year": v["month"].year},
                    )
                elif agreed_on is not None and not agreement_in_force(signed_on, agreed_on):
                    self.reject(
                        row,
                        "agreed_on",
                        _("the annual agreement %(year)s of %(dealer)s is signed only on %(signed)s")
                        % {"year": v["month"].year, "dealer": v["dealer"], "signed": signed_on.isoformat()},
                    )
            if row.errors:
                continue
            target = existing.get((dealer_id, v["month"]))
            agreed = target is not None and target.status == TargetStatus.AGREED
            if (
                agreed
                and target.agreed_amount == v["target"]
                and (agreed_on is None or _day(target.agreed_at) == agreed_on)
            ):
                row.action = "unchanged"
                self._pending.append((row, target))
                continue
            if agreed and target.agreed_amount != v["target"] and month_closed(v["month"], today):
                row.errors.append(
                    _(
                        "target: %(month)s has begun and its target %(amount)s is agreed; "
                        "sales planning corrects it on the targets page, giving a reason"
                    )
                    % {"month": format_month(v["month"]), "amount": target.agreed_amount}
                )
                continue
            if target is None:
                row.action = "new"
                target = MonthlyTarget(dealer_id=dealer_id, month=v["month"], version=0)
            else:
                row.action = "changed"
                if target.agreed_amount is not None:
                    row.previous = {"target": target.agreed_amount}
            target.status = TargetStatus.AGREED
            target.agreed_amount = v["target"]
            target.agreed_at = _start_of(agreed_on)
            target.agreed_by = self.user
            target.timeliness = timeliness(v["month"], agreed_on, deadline_day())
            target.version += 1
            self._pending.append((row, target))

    def save(self, rows):
        self.ensure_open(t.month for _r, t in self._pending)
        now = timezone.now()
        new = [t for r, t in self._pending if r.action == "new"]
        changed = [t for r, t in self._pending if r.action == "changed"]
        bulk_create_with_history(new, MonthlyTarget, batch_size=BATCH, default_user=self.user)
        if changed:
            bulk_update_with_history(
                changed,
                MonthlyTarget,
                ["status", "agreed_amount", "agreed_at", "agreed_by", "timeliness", "version"],
                batch_size=BATCH,
                default_user=self.user,
            )
        saved = new + changed
        if any(t.pk is None for t in new):  # backends that do not return ids from bulk inserts
            by_key = {
                (t.dealer_id, t.month): t.pk
                for t in MonthlyTarget.objects.filter(
                    dealer_id__in={t.dealer_id for t in new}, month__in={t.month for t in new}
                )
            }
            for target in new:
                target.pk = by_key[(target.dealer_id, target.month)]
        TargetVersion.objects.bulk_create(
            [
                TargetVersion(
                    target_id=t.pk,
                    version=t.version,
                    step=TargetStep.IMPORTED,
                    amount=t.agreed_amount,
                    timeliness=t.timeliness,
                    recorded_by=self.user,
                    recorded_at=now,
                )
                for t in saved
            ],
            batch_size=BATCH,
        )
        for month in sorted({t.month for t in saved}):
            recompute_points(months=[month], dealer_ids=[t.dealer_id for t in saved if t.month == month])
        return {"new": len(new), "changed": len(changed)}


def _start_of(day: datetime.date | None) -> datetime.datetime | None:
    """The beginning of `day` in the project's time zone: when a target imported with its date was agreed."""
    if day is None:
        return None
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def _day(moment: datetime.datetime | None) -> datetime.date | None:
    return timezone.localdate(moment) if moment else None


class SalesImporter(DealerRowsImporter):
    """Monthly actual sales; a month imported again replaces its figures (kept in history)
    and recomputes that month's earned points.

    Written for 100,000-row files: tuples instead of model instances, one upsert per
    batch and one set-wise statement for the history rows.
    """

    title = gettext_lazy("Import monthly sales")
    columns = (
        DEALER,
        Column("month", "月份", parse=parse_month_cell),
        Column("amount", "销售额", parse=parse_amount),
    )

    def check(self, rows):
        duplicates_in_file(rows, lambda r: (r.values["dealer"], r.values["month"]), _("dealer and month"))
        self.refuse_frozen_months(rows)
        ids = self.resolve_dealers(rows)
        months = {r.values["month"] for r in rows if r.has("month")}
        today = timezone.localdate()
        existing = {
            (dealer_id, month): amount
            for dealer_id, month, amount in narrowed(
                MonthlySales.objects.filter(month__in=months), "dealer_id", ids.values()
            )
            .values_list("dealer_id", "month", "amount")
            .iterator(chunk_size=10000)
        }
        self._pending = []
        for row in rows:
            v = row.values
            if row.has("month") and v["month"] > today:
                self.reject(
                    row, "month", _("%(month)s has not begun yet") % {"month": format_month(v["month"])}
                )
            if row.errors:
                continue
            key = (ids[v["dealer"]], v["month"])
            if key not in existing:
                row.action = "new"
            elif existing[key] != v["amount"]:
                row.action = "changed"
                row.previous = {"amount": existing[key]}
            else:
                row.action = "unchanged"
            self._pending.append((row.action, key, v["amount"]))

    def save(self, rows):
        now = timezone.now()
        stamp = connection.ops.adapt_datetimefield_value(now)
        months = sorted({key[1] for _action, key, _amount in self._pending})
        self.ensure_open(months)
        actions = {key: action for action, key, _amount in self._pending}
        touched = [(d, m, amount, stamp) for action, (d, m), amount in self._pending if action != "unchanged"]
        written = insert_rows(
            MonthlySales._meta.db_table,
            ["dealer_id", "month", "amount", "updated_at"],
            touched,
            conflict=["dealer_id", "month"],
            update=["amount", "updated_at"],
            returning=["id", "dealer_id", "month"],
        )
        # copied from the rows just written, one statement per kind
        kinds = [
            CREATED if actions[(dealer_id, _as_date(month))] == "new" else CHANGED
            for _pk, dealer_id, month in written
        ]
        for kind in (CREATED, CHANGED):
            ids = [row[0] for row, k in zip(written, kinds, strict=True) if k == kind]
            history_from_rows(MonthlySales, ids, history_type=kind, user=self.user, when=now)
        for month in months:
            recompute_points(
                months=[month], dealer_ids=[key[0] for _a, key, _v in self._pending if key[1] == month]
            )
        counts = {"new": 0, "changed": 0}
        for action in actions.values():
            if action in counts:
                counts[action] += 1
        return counts


def _as_date(value) -> datetime.date:
    """SQLite hands back dates from raw SQL as text."""
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)
