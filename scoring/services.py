"""Reading and writing the quarterly evaluation: the rules of `scoring.rules`, set-wise.

Every function here works on whole offices or the whole company in a few
queries; none issues a query per dealer.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Case, Count, Exists, F, OuterRef, Q, Sum, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from dealers.models import Dealer, MonthlySales, MonthlyTarget, Office, TargetStatus, in_network_q
from dealers.notifications import notify
from dealers.roles import Role
from dealers.selectors import office_on_expression
from evalsys.bulk import update_rows
from evalsys.periods import Quarter

from . import rules, sql
from .errors import ScoringError
from .insight import calibration, movements
from .models import (
    ClassificationPolicy,
    EvaluationRound,
    Grade,
    GradingStatus,
    Indicator,
    IndicatorWeight,
    Method,
    PolicyMethod,
    QuarterGrading,
    QuarterReopening,
    RoundReopening,
    RoundStatus,
    Score,
    ScoreSheet,
    WeightScheme,
)
from .quarters import refuse_ineligible

BATCH = 2000


# Configuration in force for a quarter ------------------------------------------


@dataclass
class KindConfig:
    scheme: WeightScheme
    weights: dict[int, Decimal]  # indicator id → weight


@dataclass
class Config:
    quarter: Quarter
    indicators: dict[int, Indicator]
    kinds: dict[str, KindConfig]
    policy: ClassificationPolicy

    def indicator_ids(self, kind):
        return list(self.kinds[kind].weights) if kind in self.kinds else []

    def by_method(self, method):
        return next((i for i in self.indicators.values() if i.method == method), None)


def config_for(quarter: Quarter) -> Config:
    """The weight schemes and classification policy in force for `quarter`."""
    schemes = {}
    for scheme in WeightScheme.objects.filter(effective_from__lte=str(quarter)).order_by(
        "kind", "-effective_from"
    ):
        schemes.setdefault(scheme.kind, scheme)
    weights = defaultdict(dict)
    for w in IndicatorWeight.objects.filter(scheme__in=schemes.values()).values(
        "scheme_id", "indicator_id", "weight"
    ):
        weights[w["scheme_id"]][w["indicator_id"]] = w["weight"]
    policy = (
        ClassificationPolicy.objects.filter(effective_from__lte=str(quarter))
        .order_by("-effective_from")
        .first()
    )
    if policy is None:
        raise ScoringError(_("No classification policy is in force for %(quarter)s.") % {"quarter": quarter})
    return Config(
        quarter=quarter,
        indicators={i.pk: i for i in Indicator.objects.all()},
        kinds={kind: KindConfig(scheme, weights[scheme.pk]) for kind, scheme in schemes.items()},
        policy=policy,
    )


# Computed indicators ----------------------------------------------------------


def computed_scores(quarter: Quarter) -> dict[int, dict[str, Decimal | None]]:
    """`sales_volume` and `sales_attainment` of every dealer in the network at quarter end.

    Two aggregate queries: quarter sales exist with a row for each of the three
    months; the quarter target is the sum of three agreed months.
    """
    dealers = dict(Dealer.objects.in_network_on(quarter.end).values_list("id", "kind"))
    sales = dict(
        MonthlySales.objects.filter(
            month__in=quarter.months, dealer__in=Dealer.objects.in_network_on(quarter.end)
        )
        .values("dealer_id")
        .annotate(n=Count("id"), total=Sum("amount"))
        .filter(n=3)
        .values_list("dealer_id", "total")
    )
    targets = dict(
        MonthlyTarget.objects.filter(
            month__in=quarter.months,
            status=TargetStatus.AGREED,
            agreed_amount__isnull=False,
            dealer__in=Dealer.objects.in_network_on(quarter.end),
        )
        .values("dealer_id")
        .annotate(n=Count("id"), total=Sum("agreed_amount"))
        .filter(n=3)
        .values_list("dealer_id", "total")
    )
    peers = defaultdict(dict)
    for dealer_id, total in sales.items():
        if dealer_id in dealers:
            peers[dealers[dealer_id]][dealer_id] = total
    volume = {}
    for group in peers.values():
        volume.update(rules.percentile_scores(group))
    return {
        dealer_id: {
            Method.PERCENTILE: volume.get(dealer_id),
            Method.ATTAINMENT: rules.attainment_score(sales.get(dealer_id), targets.get(dealer_id)),
        }
        for dealer_id in dealers
    }


# Opening a quarter --------------------------------------------------------------


def ensure_rounds(*, quarter: Quarter, office_ids=None) -> dict[int, EvaluationRound]:
    """A round for every office (or the offices `office_ids`) for `quarter` (idempotent)."""
    rounds = EvaluationRound.objects.filter(quarter=str(quarter))
    offices = Office.objects.all()
    if office_ids is not None:
        rounds = rounds.filter(office_id__in=office_ids)
        offices = offices.filter(pk__in=office_ids)
    existing = set(rounds.values_list("office_id", flat=True))
    missing = [
        EvaluationRound(office_id=office_id, quarter=str(quarter))
        for office_id in offices.exclude(pk__in=existing).values_list("pk", flat=True)
    ]
    EvaluationRound.objects.bulk_create(missing, ignore_conflicts=True)
    return {r.office_id: r for r in rounds.select_related("office")}


def office_dealers(*, quarter: Quarter, office_id: int):
    """The dealers in the network at the end of `quarter` that belonged to the office on that day."""
    return (
        Dealer.objects.in_network_on(quarter.end)
        .annotate(office_on=office_on_expression(quarter.end))
        .filter(office_on=office_id)
    )


def counting_sheets(*, rounds):
    """The sheets of `rounds` that count: their dealer was in the network at the round's quarter
    end and in the round's office on that day (DESIGN.md §3.3). A churn found late, or a move
    dated back into the quarter, leaves a sheet that no longer blocks nor grades anything."""
    quarters = {Quarter.parse(r.quarter) for r in rounds}
    if not quarters:
        return ScoreSheet.objects.none()
    office_at_end = Case(
        *(
            When(
                round__quarter=str(q),
                then=office_on_expression(q.end, dealer="dealer_id", office="dealer__office_id"),
            )
            for q in quarters
        )
    )
    in_network = Q()
    for q in quarters:
        in_network |= Q(round__quarter=str(q)) & in_network_q(q.end, prefix="dealer__")
    return (
        ScoreSheet.objects.filter(round__in=rounds)
        .filter(in_network)
        .alias(office_at_end=office_at_end)
        .filter(office_at_end=F("round__office_id"))
    )


def ensure_sheets(*, quarter: Quarter, config: Config, round: EvaluationRound) -> None:
    """A sheet and its empty score rows for every office dealer in the network at quarter end.

    An approved round is left as it is: a job never adds sheets to it (DESIGN.md §3.3).
    """
    if round.status == RoundStatus.APPROVED:
        return
    dealers = dict(office_dealers(quarter=quarter, office_id=round.office_id).values_list("id", "kind"))
    have = set(ScoreSheet.objects.filter(round=round).values_list("dealer_id", flat=True))
    ScoreSheet.objects.bulk_create(
        [ScoreSheet(round=round, dealer_id=d) for d in dealers if d not in have],
        batch_size=BATCH,
    )
    sheets = dict(ScoreSheet.objects.filter(round=round).values_list("dealer_id", "id"))
    present = set(Score.objects.filter(sheet__round=round).values_list("sheet_id", "indicator_id"))
    new = []
    for dealer_id, kind in dealers.items():
        sheet_id = sheets[dealer_id]
        for indicator_id in config.indicator_ids(kind):
            if (sheet_id, indicator_id) not in present:
                computed = config.indicators[indicator_id].computed
                new.append(Score(sheet_id=sheet_id, indicator_id=indicator_id, computed=computed))
    # Without ignore_conflicts the new rows come back with their ids, so the history rows are
    # written directly: with it, simple-history finds them again through one OR term per row,
    # which SQLite refuses beyond a few hundred ("Expression tree is too large"). The caller
    # holds the round's row lock, so no other run adds these rows meanwhile.
    bulk_create_with_history(new, Score, batch_size=BATCH)


def refresh_computed(*, round: EvaluationRound, values: dict[int, dict], config: Config) -> int:
    """Write the computed indicators of the round's sheets from `values`; only changed rows."""
    methods = {i.pk: i.method for i in config.indicators.values() if i.computed}
    changed = []
    for score in (
        Score.objects.filter(sheet__round=round, indicator_id__in=methods)
        .only("id", "value", "indicator_id", "sheet__dealer_id")
        .select_related("sheet")
    ):
        value = values.get(score.sheet.dealer_id, {}).get(methods[score.indicator_id])
        if score.value != value:
            score.value = value
            changed.append(score)
    return update_rows(Score, changed, ["value"], batch_size=BATCH)


def open_quarter(*, quarter: Quarter, engine: str | None = None, office_ids=None) -> dict:
    """Open a round for every office (or `office_ids`), create the sheets, fill computed indicators,
    tell office managers. Refused for a quarter that has not ended or is published."""
    refuse_ineligible(quarter)
    _refuse_published(quarter)
    engine = engine or default_engine()
    config = config_for(quarter)
    values = None
    if engine == "sql":
        stage(quarter=quarter)
    else:
        values = computed_scores(quarter)
    rounds = ensure_rounds(quarter=quarter, office_ids=office_ids)
    if engine == "sql":
        with transaction.atomic():
            _refuse_published(quarter, lock=True)
            locked = list(
                EvaluationRound.objects.select_for_update().filter(pk__in=[r.pk for r in rounds.values()])
            )
            sql.ensure_sheets(quarter=quarter, config=config, rounds=[r for r in locked if not r.locked])
            sql.refresh_computed(quarter=quarter, rounds=locked)
    else:
        for office_round in rounds.values():
            with transaction.atomic():
                _refuse_published(quarter, lock=True)
                office_round = EvaluationRound.objects.select_for_update().get(pk=office_round.pk)
                ensure_sheets(quarter=quarter, config=config, round=office_round)
                refresh_computed(round=office_round, values=values, config=config)
    managers = (
        get_user_model()
        .objects.filter(groups__name=Role.OFFICE_MANAGER, staff_profile__office__in=rounds)
        .values_list("pk", "staff_profile__office_id")
    )
    notified = 0
    for user_id, office_id in managers:
        office_round = rounds[office_id]
        notified += notify(
            user=get_user_model()(pk=user_id),
            key=f"scoring:round-opened:{quarter}:{office_id}",
            title=_("The evaluation of %(quarter)s is open") % {"quarter": quarter},
            body=_("Enter your dealers' scores with the evaluation committee."),
            url=office_round.get_absolute_url(),
        )
    return {"rounds": len(rounds), "notified": notified}


# Sheets: completeness, saving ------------------------------------------------------


def sheet_missing(*, rounds) -> dict[int, list[int]]:
    """For each sheet of `rounds`, the indicator ids whose missing score blocks it."""
    missing = defaultdict(list)
    rows = Score.objects.filter(
        sheet__in=counting_sheets(rounds=rounds),
        value__isnull=True,
        override_value__isnull=True,
        indicator__missing_rule=rules.MANUAL,
    ).values_list("sheet_id", "indicator_id")
    for sheet_id, indicator_id in rows:
        missing[sheet_id].append(indicator_id)
    return dict(missing)


def progress_by_round(*, rounds) -> dict[int, tuple[int, int]]:
    """round id → (complete sheets, all counting sheets), in two aggregate queries.

    The incomplete sheets are counted with EXISTS in the WHERE clause, which
    PostgreSQL runs as one semi-join; a count filtered by a join to every
    score took 0.37 s for 100,000 dealers, this 0.06 s.
    """
    sheets = counting_sheets(rounds=rounds).values("round_id").order_by()
    blocking = Score.objects.filter(
        sheet=OuterRef("pk"),
        value__isnull=True,
        override_value__isnull=True,
        indicator__missing_rule=rules.MANUAL,
    )
    totals = dict(sheets.annotate(n=Count("id")).values_list("round_id", "n"))
    incomplete = dict(sheets.filter(Exists(blocking)).annotate(n=Count("id")).values_list("round_id", "n"))
    return {round_id: (total - incomplete.get(round_id, 0), total) for round_id, total in totals.items()}


def round_progress(*, round: EvaluationRound) -> tuple[int, int]:
    """(complete sheets, all sheets) of a round."""
    return progress_by_round(rounds=[round]).get(round.pk, (0, 0))


def lock_round(round: EvaluationRound, *, editable: bool = False) -> EvaluationRound:
    """The round's row, locked for the caller's transaction, after refusing a published quarter;
    with `editable`, also an approved round (its scores are locked). Every change of a round or
    its scores starts here, so a change cannot commit into a round approved or a quarter
    published meanwhile (DESIGN.md §3.3, §3.4)."""
    _refuse_published(Quarter.parse(round.quarter), lock=True)
    locked = EvaluationRound.objects.select_for_update().select_related("office").get(pk=round.pk)
    if editable and locked.locked:
        raise ScoringError(_("The round is approved; its scores are locked."))
    return locked


class GridErrors(ScoringError):
    def __init__(self, errors: dict, conflicts: dict, message=None):
        super().__init__(message or _("Nothing was saved: correct the marked cells."))
        self.errors = errors  # (sheet id, indicator id) → message
        self.conflicts = conflicts  # sheet id → {"version", "updated_by", "scores": {indicator id: value}}


class Conflict(ScoringError):
    """Someone else changed what the page showed; nothing was saved. `theirs` is what is stored now."""

    def __init__(self, message, theirs: dict):
        super().__init__(message)
        self.theirs = theirs


def _lock_round(round: EvaluationRound) -> EvaluationRound:
    """The round re-read under a row lock, refused when approved or its quarter published."""
    return lock_round(round, editable=True)


def _check_scores(sheet, entry: dict, scores: dict, errors: dict) -> list:
    """The manual scores of `entry` that differ from those stored, validated; bad cells go to `errors`."""
    changed = []
    for indicator_id, raw in entry["scores"].items():
        score = scores.get((sheet.pk, indicator_id))
        if score is None or score.computed:
            continue
        raw = (raw or "").strip()
        try:
            value = (
                None
                if raw == ""
                else rules.validate_score(raw, dealer=str(sheet.dealer), indicator=score.indicator.name)
            )
        except rules.ScoreError as exc:
            errors[(sheet.pk, indicator_id)] = str(exc)
            continue
        if score.value != value:
            score.value = value
            changed.append(score)
    return changed


def save_grid(*, round: EvaluationRound, entries: dict[int, dict], user) -> int:
    """Save manual scores of several sheets at once; all or nothing.

    `entries`: sheet id → {"version": int, "scores": {indicator id: text}}. A
    sheet saved by someone else since `version` was read is a conflict: nothing
    is saved and the caller shows both versions. A sheet that already holds
    exactly the values sent is no conflict, whoever saved it: sending the same
    grid twice (a double click, a resent form) saves once and refuses nothing.
    """
    with transaction.atomic():
        _lock_round(round)
        sheets = {
            s.pk: s
            for s in ScoreSheet.objects.select_for_update(of=("self",))
            .filter(round=round, pk__in=entries)
            .select_related("dealer", "updated_by")
        }
        scores = {
            (s.sheet_id, s.indicator_id): s
            for s in Score.objects.filter(sheet__in=sheets).select_related("indicator")
        }
        errors, conflicts, changed = {}, {}, []
        for sheet_id, entry in entries.items():
            sheet = sheets.get(sheet_id)
            if sheet is None:
                continue
            stored = {i: s.value for (sid, i), s in scores.items() if sid == sheet_id}
            sheet_changes = _check_scores(sheet, entry, scores, errors)
            if int(entry["version"]) != sheet.version and sheet_changes:
                for score in sheet_changes:
                    score.value = stored[score.indicator_id]
                conflicts[sheet_id] = {
                    "version": sheet.version,
                    "updated_by": sheet.updated_by,
                    "scores": stored,
                }
                continue
            changed += sheet_changes
        if errors or conflicts:
            raise GridErrors(errors, conflicts)
        _write_scores(changed, sheets, user)
    return len(changed)


def _write_scores(changed: list, sheets: dict, user) -> None:
    touched = {s.sheet_id for s in changed}
    update_rows(Score, changed, ["value"], user=user)
    now = timezone.now()
    for sheet_id in touched:
        sheets[sheet_id].version += 1
        sheets[sheet_id].updated_by = user
        sheets[sheet_id].updated_at = now
    update_rows(ScoreSheet, [sheets[i] for i in touched], ["version", "updated_by", "updated_at"], user=user)


def _three_way(*, shown, sent, stored) -> bool:
    """Whether saving `sent` over `stored` would lose someone else's change made since `shown` was read.

    >>> _three_way(shown="a", sent="b", stored="a")   # nobody else changed it
    False
    >>> _three_way(shown="a", sent="b", stored="b")   # the same change twice (a double click)
    False
    >>> _three_way(shown="a", sent="b", stored="c")   # a change of someone else would be lost
    True
    >>> _three_way(shown="a", sent="a", stored="c")   # left untouched here: theirs stays
    False
    """
    return stored != shown and stored != sent and sent != shown


def override_score(*, score: Score, value: str, reason: str, user, shown: tuple | None = None) -> Score:
    """Override a computed indicator with a mandatory reason; an empty value clears the override.

    `shown`: the (value text, reason) the user's page showed; when someone else
    changed the override since, Conflict is raised with what is stored now.
    """
    if not score.computed:
        raise ScoringError(_("Only computed indicators are overridden; enter manual scores in the grid."))
    raw = (value or "").strip()
    with transaction.atomic():
        _lock_round(score.sheet.round)
        score = (
            Score.objects.select_for_update(of=("self",))
            .select_related("sheet__dealer", "indicator")
            .get(pk=score.pk)
        )
        if raw == "":
            new_value, new_reason = None, ""
        else:
            if not (reason or "").strip():
                raise ScoringError(_("Give a reason for the override."))
            new_value = rules.validate_score(
                raw, dealer=str(score.sheet.dealer), indicator=score.indicator.name
            )
            new_reason = reason.strip()
        if shown is not None:
            shown_value = rules.parse_score_text(shown[0])
            stored, sent = (score.override_value, score.override_reason), (new_value, new_reason)
            if _three_way(shown=(shown_value, (shown[1] or "").strip()), sent=sent, stored=stored):
                raise Conflict(
                    _(
                        "Someone else changed this override meanwhile. Nothing was saved: check theirs and save again."
                    ),
                    {"value": score.override_value, "reason": score.override_reason},
                )
        score.override_value, score.override_reason = new_value, new_reason
        score._history_user = user
        score.save(update_fields=["override_value", "override_reason"])
    return score


@dataclass
class SheetEdit:
    """What the sheet page sends: each text with the text the page showed, for the version check."""

    version: int
    scores: dict  # indicator id → typed text (manual scores)
    comment: str
    comment_shown: str
    evidence: dict  # score id → {"comment": str, "shown": str, "photo": file or None}


def save_sheet(*, sheet: ScoreSheet, edit: SheetEdit, user) -> int:
    """Save the whole sheet page at once (scores, committee comment, evidence); all or nothing.

    Scores follow `save_grid` (a conflict only when someone else changed the
    sheet and the values sent differ). A comment is a conflict when someone
    else changed it since the page showed it and it differs from the one sent.
    Raises GridErrors with `errors` {(sheet id, indicator id) or field name: message} and
    `conflicts` {sheet id or field name: what is stored now}. Returns the number of changes.
    """
    with transaction.atomic():
        _lock_round(sheet.round)
        sheet = (
            ScoreSheet.objects.select_for_update(of=("self",))
            .select_related("dealer", "updated_by")
            .get(pk=sheet.pk)
        )
        scores = {(s.sheet_id, s.indicator_id): s for s in sheet.scores.select_related("indicator")}
        by_id = {s.pk: s for s in scores.values()}
        errors, conflicts = {}, {}
        changed = _check_scores(sheet, {"scores": edit.scores}, scores, errors)
        if edit.version != sheet.version and changed:
            conflicts[sheet.pk] = {
                "version": sheet.version,
                "updated_by": sheet.updated_by,
                "scores": {s.indicator_id: s.value for s in scores.values()},
            }
        comment = edit.comment.strip()
        if _three_way(shown=edit.comment_shown.strip(), sent=comment, stored=sheet.comment):
            conflicts["comment"] = sheet.comment
        evidence = []
        for score_id, sent in edit.evidence.items():
            score = by_id.get(score_id)
            if score is None:
                continue
            text = (sent["comment"] or "").strip()
            if _three_way(shown=(sent["shown"] or "").strip(), sent=text, stored=score.comment):
                conflicts[f"e{score_id}"] = score.comment
            elif text != score.comment or sent.get("photo"):
                evidence.append((score, text, sent.get("photo")))
        if errors or conflicts:
            message = (
                _(
                    "Someone else changed this sheet meanwhile. Nothing was saved: both versions are shown; check them and save again."
                )
                if conflicts
                else None
            )
            raise GridErrors(errors, conflicts, message)
        _write_scores(changed, {sheet.pk: sheet}, user)
        comment_changed = comment != sheet.comment
        if comment_changed:
            sheet.comment = comment
            sheet._history_user = user
            sheet.save(update_fields=["comment", "updated_at"])
        for score, text, photo in evidence:
            score.comment = text
            if photo:
                score.photo = photo
            score._history_user = user
            score.save(update_fields=["comment", "photo"])
    return len(changed) + len(evidence) + comment_changed


def save_evidence(*, score: Score, comment: str, photo, user) -> Score:
    with transaction.atomic():
        lock_round(score.sheet.round, editable=True)
        score.comment = comment
        if photo:
            score.photo = photo
        score.full_clean(exclude=["sheet", "indicator", "value", "override_value"])
        score._history_user = user
        score.save()
    return score


# Rounds -----------------------------------------------------------------------------


def _refuse_incomplete(round: EvaluationRound) -> None:
    complete, total = round_progress(round=round)
    if complete < total:
        raise ScoringError(
            _("%(missing)s of %(total)s dealers still lack scores.")
            % {"missing": total - complete, "total": total}
        )


def save_committee(*, round: EvaluationRound, meeting_date, chair, participants, user) -> EvaluationRound:
    """Record the evaluation meeting (date, chair, participants) of a round not yet approved."""
    with transaction.atomic():
        locked = lock_round(round, editable=True)
        if meeting_date is not None and meeting_date > timezone.localdate():
            raise ScoringError(_("The meeting date cannot be in the future."))
        locked.meeting_date = meeting_date
        locked.chair = chair
        locked._history_user = user
        locked.save(update_fields=["meeting_date", "chair"])
        locked.participants.set(participants)
    return locked


def committee_problems(round: EvaluationRound) -> list[str]:
    """What the committee record lacks before the round can be submitted (the page says so too)."""
    problems = []
    if round.chair_id is None:
        problems.append(_("record the chair of the meeting"))
    if round.meeting_date is None:
        problems.append(_("record the meeting date"))
    elif round.meeting_date > timezone.localdate():
        problems.append(_("the meeting date is in the future"))
    return problems


def submit_round(*, round: EvaluationRound, user) -> EvaluationRound:
    """open → submitted: every counting sheet complete, the chair and the meeting date recorded."""
    with transaction.atomic():
        locked = lock_round(round)
        if locked.status != RoundStatus.OPEN:
            raise ScoringError(_("Only an open round can be submitted."))
        problems = committee_problems(locked)
        if problems:
            raise ScoringError(
                _("The round cannot be submitted yet: %(what)s.") % {"what": "; ".join(problems)}
            )
        _refuse_incomplete(locked)
        locked.status = RoundStatus.SUBMITTED
        locked.submitted_at = timezone.now()
        locked._history_user = user
        locked.save()
    return locked


def approve_round(*, round: EvaluationRound, user) -> EvaluationRound:
    """submitted → approved: the scores are locked from then on."""
    with transaction.atomic():
        locked = lock_round(round)
        if locked.status == RoundStatus.APPROVED:
            raise ScoringError(_("The round is already approved."))
        if locked.status != RoundStatus.SUBMITTED:
            raise ScoringError(_("Only a submitted round can be approved: submit it first."))
        _refuse_incomplete(locked)
        locked.status = RoundStatus.APPROVED
        locked.approved_at = timezone.now()
        locked.approved_by = user
        locked._history_user = user
        locked.save()
    return locked


def reopen_round(*, round: EvaluationRound, reason: str, user) -> EvaluationRound:
    """Sales planning reopens a submitted or approved round, with a reason that is kept."""
    if not (reason or "").strip():
        raise ScoringError(_("Give a reason for reopening the round."))
    with transaction.atomic():
        locked = lock_round(round)
        if locked.status == RoundStatus.OPEN:
            raise ScoringError(_("The round is already open."))
        RoundReopening.objects.create(
            round=locked, by=user, reason=reason.strip(), previous_status=locked.status
        )
        locked.status = RoundStatus.OPEN
        locked.approved_at = locked.approved_by = locked.submitted_at = None
        locked._history_user = user
        locked.save()
    return locked


# Grading ------------------------------------------------------------------------------

GRADE_FIELDS = [
    "office",
    "kind",
    "evaluated",
    "total",
    "sales_volume",
    "office_rank",
    "previous_class",
    "scheme",
    "policy",
]
FINISH_FIELDS = ["company_rank", "computed_class", "final_class", "change"]


def _published(quarter: Quarter) -> bool:
    return QuarterGrading.objects.filter(quarter=str(quarter), status=GradingStatus.PUBLISHED).exists()


def published_message(quarter) -> str:
    return _(
        "%(quarter)s is published: its grades, scores and sheets are frozen. Only an administrator can reopen it."
    ) % {"quarter": quarter}


def _refuse_published(quarter: Quarter, *, lock: bool = False) -> None:
    """Refuse any change to a published quarter (DESIGN.md §3.4). With `lock`, inside the
    caller's transaction, the quarter's grading row is locked so that publishing waits for it."""
    gradings = QuarterGrading.objects.filter(quarter=str(quarter))
    if lock:
        gradings = gradings.select_for_update()
    status = gradings.values_list("status", flat=True).first()
    if status == GradingStatus.PUBLISHED:
        raise ScoringError(published_message(quarter))


def office_grades(*, quarter: Quarter, office_id: int, config: Config, approved: bool) -> list[dict]:
    """Each office dealer's total, sales_volume, office rank and previous class, by the rules."""
    office_dealer_ids = office_dealers(quarter=quarter, office_id=office_id)
    dealers = dict(office_dealer_ids.values_list("id", "kind"))
    previous = dict(
        Grade.objects.filter(
            quarter=str(quarter.previous()), dealer_id__in=office_dealer_ids.values("id")
        ).values_list("dealer_id", "final_class")
    )
    scores = defaultdict(dict)
    # Only the sheets of this office's round count: a dealer without one there (it joined or
    # moved in after the round was approved) is not evaluated (DESIGN.md §3.3).
    for dealer_id, indicator_id, value, override in Score.objects.filter(
        sheet__round__office_id=office_id, sheet__round__quarter=str(quarter)
    ).values_list("sheet__dealer_id", "indicator_id", "value", "override_value"):
        scores[dealer_id][indicator_id] = override if override is not None else value
    volume = config.by_method(Method.PERCENTILE)
    result = []
    for dealer_id, kind in dealers.items():
        kind_config = config.kinds.get(kind)
        total = None
        if approved and kind_config and dealer_id in scores:
            total = rules.total_score(
                rules.Component(
                    weight, scores[dealer_id].get(indicator_id), config.indicators[indicator_id].missing_rule
                )
                for indicator_id, weight in kind_config.weights.items()
            )
        result.append(
            {
                "dealer_id": dealer_id,
                "kind": kind,
                "evaluated": total is not None,
                "total": total,
                "sales_volume": scores[dealer_id].get(volume.pk) if volume and total is not None else None,
                "previous_class": previous.get(dealer_id, ""),
                "scheme_id": kind_config.scheme.pk if kind_config else None,
            }
        )
    for kind in {r["kind"] for r in result}:
        totals = {r["dealer_id"]: r["total"] for r in result if r["kind"] == kind and r["evaluated"]}
        ranks = rules.competition_ranks(totals)
        for r in result:
            r["office_rank"] = ranks.get(r["dealer_id"]) if r["kind"] == kind else r.get("office_rank")
    return result


def _write_grades(*, quarter: Quarter, office_id: int, rows: list[dict], policy_id: int, fields, user=None):
    existing = {
        g.dealer_id: g
        for g in Grade.objects.filter(quarter=str(quarter), dealer_id__in=[r["dealer_id"] for r in rows])
    }
    new, changed = [], []
    for r in rows:
        values = {
            "office_id": office_id,
            "kind": r["kind"],
            "evaluated": r["evaluated"],
            "total": r["total"],
            "sales_volume": r["sales_volume"],
            "office_rank": r["office_rank"],
            "previous_class": r["previous_class"],
            "scheme_id": r["scheme_id"],
            "policy_id": policy_id,
        }
        if not r["evaluated"]:
            # Not evaluated: keeps its previous class, takes no part in ranks or quotas.
            values.update(company_rank=None, computed_class="", change="")
        grade = existing.get(r["dealer_id"])
        if grade is None:
            grade = Grade(quarter=str(quarter), dealer_id=r["dealer_id"], **values)
            if not r["evaluated"]:
                grade.final_class = r["previous_class"]
            new.append(grade)
            continue
        if not r["evaluated"] and not grade.overridden:
            values["final_class"] = r["previous_class"]
        dirty = False
        for name, value in values.items():
            if getattr(grade, name) != value:
                setattr(grade, name, value)
                dirty = True
        if dirty:
            changed.append(grade)
    bulk_create_with_history(new, Grade, batch_size=BATCH, default_user=user)
    update_rows(Grade, changed, fields, batch_size=BATCH, user=user)


def remove_gone_grades(*, quarter: Quarter, office_ids: list[int]) -> int:
    """Delete, with history, the grades of the offices' dealers that are no longer in the network at
    quarter end (a churn found late, DESIGN.md §3.4); they then take no part in ranks or quotas."""
    gone = list(
        Grade.objects.filter(quarter=str(quarter), office_id__in=office_ids).exclude(
            dealer__in=Dealer.objects.in_network_on(quarter.end)
        )
    )
    if not gone:
        return 0
    # deleted one by one by Django's collector, each leaving a "-" history record (few: late churns)
    Grade.objects.filter(pk__in=[g.pk for g in gone]).delete()
    return len(gone)


def default_engine() -> str:
    """ "sql" (one set-based statement per step) on PostgreSQL, "python" (the rules applied row-wise) elsewhere."""
    return "sql" if connection.vendor == "postgresql" else "python"


def stage(*, quarter: Quarter) -> None:
    """Compute the quarter's sales indicators company-wide once, for the office steps to copy."""
    with transaction.atomic():
        sql.stage_sales_scores(quarter=quarter)


def _mark_offices_done(quarter: Quarter, office_ids: list[int]) -> None:
    grading = QuarterGrading.objects.select_for_update().get(quarter=str(quarter))
    done = sorted(set(grading.offices_done) | set(office_ids))
    if done != grading.offices_done:
        grading.offices_done = done
        grading.progress_at = timezone.now()
        grading.save(update_fields=["offices_done", "progress_at"])


def grade_offices(
    *,
    quarter: Quarter,
    office_ids: list[int],
    config: Config | None = None,
    values=None,
    engine: str | None = None,
    staged: bool = False,
) -> dict:
    """Re-grade offices in one transaction: refresh computed indicators, totals and office ranks.

    An office whose round another run holds is skipped (that run grades it).
    Returns {"graded": n, "busy": m}.
    """
    refuse_ineligible(quarter)
    _refuse_published(quarter)
    engine = engine or default_engine()
    config = config or config_for(quarter)
    if engine == "sql" and not staged:
        stage(quarter=quarter)
    if engine == "python" and values is None:
        values = computed_scores(quarter)
    round_ids = [r.pk for r in ensure_rounds(quarter=quarter, office_ids=office_ids).values()]
    with transaction.atomic():
        _refuse_published(quarter, lock=True)
        locked = list(EvaluationRound.objects.select_for_update(skip_locked=True).filter(pk__in=round_ids))
        if engine == "sql":
            sql.ensure_sheets(
                quarter=quarter, config=config, rounds=[r for r in locked if not r.locked], only_new=True
            )
            sql.refresh_computed(quarter=quarter, rounds=locked)
            sql.remove_gone_grades(quarter=quarter, rounds=locked)
            every_office = len(locked) == len(round_ids) and set(office_ids) >= set(
                Office.objects.values_list("pk", flat=True)
            )
            sql.write_grades(quarter=quarter, rounds=locked, config=config, company_wide=every_office)
        else:
            remove_gone_grades(quarter=quarter, office_ids=[r.office_id for r in locked])
            for office_round in locked:
                ensure_sheets(quarter=quarter, config=config, round=office_round)
                refresh_computed(round=office_round, values=values, config=config)
                rows = office_grades(
                    quarter=quarter,
                    office_id=office_round.office_id,
                    config=config,
                    approved=office_round.status == RoundStatus.APPROVED,
                )
                _write_grades(
                    quarter=quarter,
                    office_id=office_round.office_id,
                    rows=rows,
                    policy_id=config.policy.pk,
                    fields=[*GRADE_FIELDS, "company_rank", "computed_class", "change", "final_class"],
                )
        _mark_offices_done(quarter, [r.office_id for r in locked])
    return {"graded": len(locked), "busy": len(round_ids) - len(locked)}


def classify(grades: list[Grade], policy: ClassificationPolicy) -> None:
    """Company ranks, computed and final classes and changes of evaluated grades, in place."""
    by_kind = defaultdict(list)
    for g in grades:
        if g.evaluated:
            by_kind[g.kind].append(g)
    for group in by_kind.values():
        ranks = rules.competition_ranks({g.pk: g.total for g in group})
        if policy.method == PolicyMethod.QUOTA:
            classes = rules.quota_classes(
                (rules.Ranked(g.pk, g.total, g.sales_volume, g.dealer.code) for g in group),
                a=policy.quota_a,
                b=policy.quota_b,
            )
        else:
            classes = {g.pk: rules.band_class(g.total, a=policy.band_a, b=policy.band_b) for g in group}
        for g in group:
            g.company_rank = ranks[g.pk]
            g.computed_class = classes[g.pk]
            if not g.overridden:
                g.final_class = g.computed_class
            g.change = rules.class_change(g.previous_class, g.final_class)


def finish_grading(
    *, quarter: Quarter, config: Config | None = None, engine: str | None = None, classified: bool = False
) -> None:
    """Company-wide part of grading: company ranks, classes, changes; tells sales planning once.

    `classified`: the SQL engine already classified every office in the same run.
    """
    _refuse_published(quarter)
    config = config or config_for(quarter)
    with transaction.atomic():
        grading = QuarterGrading.objects.select_for_update().get(quarter=str(quarter))
        if (engine or default_engine()) == "sql":
            if not classified:
                sql.finish(quarter=quarter, policy=config.policy)
        else:
            _finish_in_python(quarter=quarter, config=config)
        grading.status = GradingStatus.GRADED
        grading.graded_at = grading.progress_at = timezone.now()
        grading.error = ""
        grading.distribution = class_distribution(quarter=quarter)
        grading.movements = movements.movement_counts(quarter=quarter)
        grading.calibration = calibration.snapshot(quarter=quarter)
        grading.save()
        _tell_sales_planning(quarter, Grade.objects.filter(quarter=str(quarter)).count())


def _finish_in_python(*, quarter: Quarter, config: Config) -> None:
    grades = list(
        Grade.objects.filter(quarter=str(quarter))
        .select_related("dealer")
        .only(
            "id",
            "dealer__code",
            "kind",
            "evaluated",
            "total",
            "sales_volume",
            "previous_class",
            "overridden",
            *FINISH_FIELDS,
        )
    )
    before = {g.pk: tuple(getattr(g, f) for f in FINISH_FIELDS) for g in grades}
    classify(grades, config.policy)
    changed = [g for g in grades if tuple(getattr(g, f) for f in FINISH_FIELDS) != before[g.pk]]
    update_rows(Grade, changed, FINISH_FIELDS, batch_size=BATCH)


def class_distribution(*, quarter: Quarter) -> dict:
    """Final classes per office: one aggregate query."""
    distribution = {}
    counts = (
        Grade.objects.filter(quarter=str(quarter))
        .values("office_id", "final_class")
        .annotate(n=Count("*"))
        .order_by()
    )
    for row in counts:
        distribution.setdefault(str(row["office_id"]), {"A": 0, "B": 0, "C": 0, "": 0})[
            row["final_class"]
        ] = row["n"]
    return distribution


def _tell_sales_planning(quarter: Quarter, count: int) -> None:
    url = reverse("scoring:abc_list") + f"?quarter={quarter}"
    for user in get_user_model().objects.filter(groups__name=Role.SALES_PLANNING, is_active=True):
        notify(
            user=user,
            key=f"scoring:graded:{quarter}",
            title=_("%(quarter)s has been graded") % {"quarter": quarter},
            body=_("%(count)s dealers graded; review and publish the ABC list.") % {"count": count},
            url=url,
        )


def start_grading(*, quarter: Quarter) -> QuarterGrading:
    """Mark a re-grade as running, refusing a quarter not ended or published."""
    refuse_regrade(quarter)
    with transaction.atomic():
        grading, _created = QuarterGrading.objects.select_for_update().get_or_create(quarter=str(quarter))
        if grading.status == GradingStatus.PUBLISHED:
            raise ScoringError(published_message(quarter))
        grading.status = GradingStatus.GRADING
        grading.offices_total = Office.objects.count()
        grading.offices_done = []
        grading.started_at = grading.progress_at = timezone.now()
        grading.error = ""
        grading.save()
    return grading


def refuse_open(quarter: Quarter) -> None:
    """Raise ScoringError when opening `quarter` would be refused; writes nothing."""
    refuse_ineligible(quarter)
    _refuse_published(quarter)
    config_for(quarter)


def refuse_regrade(quarter: Quarter) -> None:
    """Raise ScoringError when a re-grade of `quarter` would be refused; writes nothing."""
    refuse_ineligible(quarter)
    _refuse_published(quarter)
    config_for(quarter)


def record_grading_error(*, quarter: Quarter, error: Exception) -> None:
    """Show a failed re-grade on the jobs card (it would otherwise read "grading" for ever)."""
    QuarterGrading.objects.filter(quarter=str(quarter)).update(error=str(error)[:1000] or repr(error))


def regrade_quarter(*, quarter: Quarter, engine: str | None = None) -> dict:
    """Re-grade every office in this process, then finish company-wide."""
    engine = engine or default_engine()
    start_grading(quarter=quarter)
    config = config_for(quarter)
    values = None
    if engine == "sql":
        stage(quarter=quarter)
    else:
        values = computed_scores(quarter)
    offices = list(Office.objects.order_by("code").values_list("pk", flat=True))
    # SQL grades the whole company in one transaction; the rules in Python go office by office.
    batches = [offices] if engine == "sql" else [[office_id] for office_id in offices]
    outcome = defaultdict(int)
    try:
        for batch in batches:
            result = grade_offices(
                quarter=quarter, office_ids=batch, config=config, values=values, engine=engine, staged=True
            )
            for key, count in result.items():
                outcome[key] += count
    except Exception as exc:
        record_grading_error(quarter=quarter, error=exc)
        raise
    classified = engine == "sql" and not outcome["busy"]
    finish_grading(quarter=quarter, config=config, engine=engine, classified=classified)
    return dict(outcome)


# Classes after grading ---------------------------------------------------------------------


def override_class(*, grade: Grade, final_class: str, reason: str, user) -> Grade:
    """Sales planning sets the final class with a mandatory reason; computed class is kept."""
    if final_class not in ("A", "B", "C"):
        raise ScoringError(_("Choose class A, B or C."))
    if not (reason or "").strip():
        raise ScoringError(_("Give a reason for the override."))
    with transaction.atomic():
        _refuse_published(Quarter.parse(grade.quarter), lock=True)
        return _override_class(grade=grade, final_class=final_class, reason=reason, user=user)


def _override_class(*, grade: Grade, final_class: str, reason: str, user) -> Grade:
    grade.final_class = final_class
    grade.overridden = True
    grade.override_reason = reason.strip()
    grade.overridden_by = user
    grade.overridden_at = timezone.now()
    if grade.evaluated:
        grade.change = rules.class_change(grade.previous_class, final_class)
    grade._history_user = user
    with transaction.atomic():
        grade.save()
        QuarterGrading.objects.filter(quarter=grade.quarter).update(
            distribution=class_distribution(quarter=Quarter.parse(grade.quarter)),
            movements=movements.movement_counts(quarter=Quarter.parse(grade.quarter)),
        )
    return grade


# Publishing ---------------------------------------------------------------------------------

# Functions (quarter → {key: {"label": text, "count": n}}) adding what else is unfinished;
# other features (appeals) append theirs in their AppConfig.ready.
UNFINISHED_CHECKS = []


def unfinished_for_publish(quarter: Quarter) -> dict:
    """What is unfinished in `quarter`, shown before publishing (DESIGN.md §3.4): key →
    {"label", "count"}, every entry listed even when its count is 0."""
    unfinished = {
        "rounds_not_approved": {
            "label": _("rounds not approved"),
            "count": EvaluationRound.objects.filter(quarter=str(quarter))
            .exclude(status=RoundStatus.APPROVED)
            .count(),
        },
        "not_evaluated": {
            "label": _("dealers not evaluated"),
            "count": Grade.objects.filter(quarter=str(quarter), evaluated=False).count(),
        },
    }
    from .followup import appeals

    unfinished["open_appeals"] = {"label": _("open appeals"), "count": appeals.open_appeals(quarter).count()}
    for check in UNFINISHED_CHECKS:
        unfinished.update(check(quarter))
    return unfinished


def describe_unfinished(unfinished: dict) -> str:
    """ "rounds not approved: 2, dealers not evaluated: 41", or empty when nothing is unfinished."""
    return _(", ").join(_("%(label)s: %(count)s") % entry for entry in unfinished.values() if entry["count"])


def publish_quarter(*, quarter: Quarter, user=None, allow_unfinished: bool = False) -> QuarterGrading:
    """Publish a graded quarter: it is frozen from then on. Unless `allow_unfinished` (the user saw
    and confirmed what is unfinished), a quarter with anything unfinished is refused."""
    with transaction.atomic():
        grading = QuarterGrading.objects.select_for_update().filter(quarter=str(quarter)).first()
        if grading is None or grading.status == GradingStatus.GRADING:
            raise ScoringError(_("%(quarter)s has not been graded yet.") % {"quarter": quarter})
        if grading.status == GradingStatus.PUBLISHED:
            raise ScoringError(_("%(quarter)s is already published.") % {"quarter": quarter})
        unfinished = describe_unfinished(unfinished_for_publish(quarter))
        if unfinished and not allow_unfinished:
            raise ScoringError(
                _("%(quarter)s is not published: %(unfinished)s. Finish them, or publish it as it is.")
                % {"quarter": quarter, "unfinished": unfinished}
            )
        grading.status = GradingStatus.PUBLISHED
        grading.published_at = timezone.now()
        grading.published_by = user
        grading._history_user = user
        grading._change_reason = unfinished[:100]
        grading.save()
        follow_through(quarter=quarter, user=user)
    return grading


def reopen_published_quarter(*, quarter: Quarter, reason: str, user) -> QuarterGrading:
    """An administrator reopens a published quarter for re-grading, with a reason that is kept."""
    if not (user and user.is_superuser):
        raise ScoringError(_("Only an administrator can reopen a published quarter."))
    reason = (reason or "").strip()
    if not reason:
        raise ScoringError(_("Give a reason for reopening %(quarter)s.") % {"quarter": quarter})
    with transaction.atomic():
        grading = QuarterGrading.objects.select_for_update().filter(quarter=str(quarter)).first()
        if grading is None or grading.status != GradingStatus.PUBLISHED:
            raise ScoringError(_("%(quarter)s is not published.") % {"quarter": quarter})
        QuarterReopening.objects.create(grading=grading, by=user, reason=reason)
        grading.status = GradingStatus.GRADED
        grading._history_user = user
        grading._change_reason = reason[:100]
        grading.save()
    return grading


def follow_through(*, quarter: Quarter, user=None) -> dict:
    """What publishing leads to (DESIGN.md §5a), in the publication's transaction: appeals still
    open lapse, and the watch list is brought up to date."""
    from .followup import appeals, watchlist

    lapsed = appeals.on_publish(quarter=quarter, user=user)
    return {"lapsed_appeals": lapsed, **watchlist.on_publish(quarter=quarter, user=user)}
