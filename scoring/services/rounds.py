"""Rounds and their score sheets: opening a quarter, saving scores and overrides, submitting,
approving and reopening a round. Set-wise: no query per dealer."""

from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Case, Count, Exists, F, OuterRef, Q, When
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from dealers import versions
from dealers.models import Dealer, Office, in_network_q
from dealers.notifications import notify
from dealers.roles import Role
from dealers.selectors import office_on_expression
from evalsys.bulk import update_rows
from evalsys.periods import Quarter

from .. import engines, rules
from ..errors import ScoringError
from ..models import (
    EvaluationRound,
    RoundReopening,
    RoundStatus,
    Score,
    ScoreSheet,
)
from ..quarters import refuse_ineligible
from .config import (
    BATCH,
    Config,
    _refuse_published,
    config_for,
)

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


def open_quarter(*, quarter: Quarter, engine: "engines.Engine | str | None" = None, office_ids=None) -> dict:
    """Open a round for every office (or `office_ids`), create the sheets, fill computed indicators,
    tell office managers. Refused for a quarter that has not ended or is published."""
    refuse_ineligible(quarter)
    _refuse_published(quarter)
    engine = engines.engine_for(engine)
    config = config_for(quarter)
    engine.stage(quarter=quarter)
    rounds = ensure_rounds(quarter=quarter, office_ids=office_ids)
    engine.open_rounds(quarter=quarter, config=config, rounds=list(rounds.values()))
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
    """round id → (complete sheets, all counting sheets), in one aggregate query.

    A sheet is incomplete while one of its scores with a manual missing-rule is blank.
    For a few rounds each sheet is probed through the (sheet, indicator) index; for many
    (a whole company's quarter) the blank scores are read once and hashed: at 100,000
    dealers the probes took 1.0 s (two queries), this 0.3 s (one), on a loaded machine.
    Cached under the versions of what it reads (`dealers.versions`).
    """
    rounds = list(rounds)
    return versions.cached(
        ("round-progress", tuple(sorted(r.pk for r in rounds)), len(rounds) > PROBED_ROUNDS),
        [
            versions.SHEETS,
            versions.SCORES,
            versions.INDICATORS,
            versions.ROUNDS,
            versions.DEALERS,
            versions.MOVES,
        ],
        lambda: _progress_by_round(rounds),
    )


def _progress_by_round(rounds) -> dict[int, tuple[int, int]]:
    sheets = counting_sheets(rounds=rounds).values("round_id").order_by()
    blank = Score.objects.filter(
        value__isnull=True, override_value__isnull=True, indicator__missing_rule=rules.MANUAL
    )
    if len(rounds) > PROBED_ROUNDS:
        incomplete = Q(pk__in=blank.values("sheet_id"))
    else:
        incomplete = Q(Exists(blank.filter(sheet=OuterRef("pk"))))
    counts = sheets.annotate(n=Count("id"), incomplete=Count("id", filter=incomplete))
    return {
        row["round_id"]: (row["n"] - row["incomplete"], row["n"])
        for row in counts.values("round_id", "n", "incomplete")
    }


PROBED_ROUNDS = 5


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
