"""Importing manual scores (DESIGN.md §6.2 `scores` file)."""

from collections import defaultdict

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dealers.models import Dealer, Office, in_network_q
from dealers.selectors import office_on_expression
from evalsys.bulk import update_rows
from evalsys.tabular import Column, Importer, code, duplicates_in_file, nfkc, parse_quarter_cell, text

from . import rules, services
from .models import EvaluationRound, Indicator, RoundStatus, Score, ScoreSheet


def score_text(value) -> str:
    """A score as written, full-width digits read as ASCII; `rules.validate_score` judges it."""
    return nfkc(text(value))


SCORE = Column(
    "score", "得分", parse=score_text, rule=gettext_lazy("0 to 100, up to two decimals"), example="85"
)


class ScoreImporter(Importer):
    """Manual scores by dealer, quarter and indicator; with `approve_as`, complete rounds are approved."""

    title = gettext_lazy("Import scores")
    columns = (
        Column("dealer", "经销商编码", parse=code, rule=gettext_lazy("dealer code"), example="SH001"),
        Column("quarter", "季度", parse=parse_quarter_cell),
        Column(
            "indicator",
            "指标",
            rule=gettext_lazy("a manual indicator, by code or Chinese name"),
            example="卖场布置与样品展示",
        ),
        SCORE,
    )

    def __init__(self, *, user=None, approve_as=None):
        super().__init__(user=user)
        self.approve_as = approve_as
        self.outcome = []

    def check(self, rows):
        duplicates_in_file(
            rows, lambda r: (r.values["dealer"], str(r.values["quarter"]), r.values["indicator"]), _("score")
        )
        dealers = Dealer.objects.all() if self.user is None else Dealer.objects.visible_to(self.user)
        dealers = dealers.select_related("office").in_bulk(
            {r.values["dealer"] for r in rows if r.has("dealer")}, field_name="code"
        )
        indicators = {}
        for indicator in Indicator.objects.all():
            indicators[nfkc(indicator.code)] = indicator
            indicators[nfkc(indicator.name)] = indicator
        quarters = {r.values["quarter"] for r in rows if r.has("quarter")}
        # A quarter that has not ended, is published or has no policy refuses all its rows.
        refused, configs = {}, {}
        for q in quarters:
            try:
                services.refuse_open(q)
                configs[q] = services.config_for(q)
            except services.ScoringError as exc:
                refused[q] = str(exc)
        # each dealer in the office it belonged to at the quarter's end (DESIGN.md §3.4)
        offices_at_end = {
            q: dict(
                Dealer.objects.filter(pk__in=[d.pk for d in dealers.values()])
                .annotate(office_on=office_on_expression(q.end))
                .values_list("pk", "office_on")
            )
            for q in configs
        }
        office_names = {o.pk: o for o in Office.objects.all()}
        locked = set(
            EvaluationRound.objects.filter(
                quarter__in=[str(q) for q in quarters], status=RoundStatus.APPROVED
            ).values_list("office_id", "quarter")
        )
        in_network = {
            q: set(
                Dealer.objects.filter(
                    in_network_q(q.end), pk__in=[d.pk for d in dealers.values()]
                ).values_list("pk", flat=True)
            )
            for q in quarters
        }
        self._pending = []
        for row in rows:
            v = row.values
            # another office's dealer reads exactly like one that does not exist
            dealer = dealers.get(v.get("dealer"))
            indicator = indicators.get(nfkc(v["indicator"])) if row.has("indicator") else None
            quarter = v.get("quarter")
            if quarter in refused:
                self.reject(row, "quarter", refused[quarter])
                quarter = None
            if row.has("dealer") and dealer is None:
                self.reject(row, "dealer", _("unknown dealer code %(code)s") % {"code": v["dealer"]})
            if row.has("indicator"):
                if indicator is None:
                    self.reject(row, "indicator", _("unknown indicator %(name)s") % {"name": v["indicator"]})
                elif indicator.computed:
                    self.reject(
                        row,
                        "indicator",
                        _("%(name)s is computed from sales data, not imported") % {"name": indicator.name},
                    )
                elif (
                    dealer is not None
                    and quarter is not None
                    and indicator.pk not in configs[quarter].indicator_ids(dealer.kind)
                ):
                    self.reject(
                        row,
                        "indicator",
                        _("%(name)s does not apply to %(dealer)s")
                        % {"name": indicator.name, "dealer": dealer},
                    )
            office_id = None
            if dealer is not None and quarter is not None:
                office_id = offices_at_end[quarter][dealer.pk]
                if dealer.pk not in in_network[quarter]:
                    self.reject(
                        row,
                        "dealer",
                        _("%(dealer)s is not in the network at the end of %(quarter)s")
                        % {"dealer": dealer, "quarter": quarter},
                    )
                if (office_id, str(quarter)) in locked:
                    self.reject(
                        row,
                        "quarter",
                        _("the %(quarter)s round of %(office)s is approved and locked")
                        % {"quarter": quarter, "office": office_names.get(office_id, office_id)},
                    )
            value = None
            if row.has("score"):
                try:
                    value = rules.validate_score(
                        v["score"],
                        dealer=str(dealer or v.get("dealer", "")),
                        indicator=indicator.name if indicator else v.get("indicator", ""),
                    )
                except rules.ScoreError as exc:
                    row.reject(SCORE, exc, v["score"])
            if row.errors:
                continue
            self._pending.append((row, dealer, office_id, indicator, quarter, value))
            row.action = "changed"

    def save(self, rows):
        by_quarter = defaultdict(set)
        for _row, _dealer, office_id, _indicator, quarter, _value in self._pending:
            by_quarter[quarter].add(office_id)
        rounds = {}
        for quarter, office_ids in by_quarter.items():
            # A quarter not yet opened is opened as the open job does, for the file's offices only
            # (an office's staff can import only their own office's dealers).
            services.open_quarter(quarter=quarter, office_ids=office_ids)
            for office_round in EvaluationRound.objects.filter(
                quarter=str(quarter), office_id__in=office_ids
            ).select_related("office"):
                rounds[(office_round.office_id, str(quarter))] = office_round
        scores = {
            (s.sheet.dealer_id, s.sheet.round.quarter, s.indicator_id): s
            for s in Score.objects.filter(sheet__round__in=rounds.values()).select_related("sheet__round")
        }
        changed, unchanged, sheet_ids = [], 0, set()
        for row, dealer, _office_id, indicator, quarter, value in self._pending:
            score = scores[(dealer.pk, str(quarter), indicator.pk)]
            if score.value == value:
                row.action = "unchanged"
                unchanged += 1
                continue
            score.value = value
            changed.append(score)
            sheet_ids.add(score.sheet_id)
        update_rows(Score, changed, ["value"], user=self.user)
        sheets = list(ScoreSheet.objects.filter(pk__in=sheet_ids))
        for sheet in sheets:
            sheet.version += 1
        update_rows(ScoreSheet, sheets, ["version"], user=self.user)
        if self.approve_as is not None:
            self._approve(list(rounds.values()))
        return {"changed": len(changed), "unchanged": unchanged}

    def _approve(self, rounds):
        missing = services.sheet_missing(rounds=rounds)
        sheets = {
            s.pk: s
            for s in ScoreSheet.objects.filter(pk__in=missing).select_related("dealer", "round__office")
        }
        names = dict(Indicator.objects.values_list("pk", "name"))
        lacking = defaultdict(list)
        for sheet_id, indicator_ids in missing.items():
            sheet = sheets[sheet_id]
            lacking[sheet.round_id].append(
                f"{sheet.dealer.code} ({', '.join(names[i] for i in indicator_ids)})"
            )
        for office_round in sorted(rounds, key=lambda r: (r.quarter, r.office.code)):
            if office_round.pk in lacking:
                self.outcome.append(
                    _("%(round)s stays open; still lacking: %(what)s")
                    % {"round": office_round, "what": "; ".join(sorted(lacking[office_round.pk]))}
                )
            elif office_round.status != RoundStatus.APPROVED:
                try:
                    if office_round.status == RoundStatus.OPEN:
                        services.submit_round(round=office_round, user=self.approve_as)
                    services.approve_round(round=office_round, user=self.approve_as)
                except services.ScoringError as exc:
                    self.outcome.append(
                        _("%(round)s stays open: %(reason)s") % {"round": office_round, "reason": exc}
                    )
                else:
                    self.outcome.append(_("%(round)s approved") % {"round": office_round})
