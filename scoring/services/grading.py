"""Grading and publishing a quarter: totals, ranks and classes through the engine of
`scoring.engines`, overrides of a class, publication and its follow-through."""

import hashlib
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from dealers.models import Dealer, Office
from dealers.notifications import notify
from dealers.roles import Role
from evalsys.bulk import update_rows
from evalsys.periods import Quarter

from .. import engines, rules
from ..errors import ScoringError
from ..insight import calibration, movements
from ..models import (
    ClassificationPolicy,
    EvaluationRound,
    Grade,
    GradingStatus,
    Method,
    PolicyMethod,
    QuarterGrading,
    QuarterReopening,
    RoundStatus,
    Score,
)
from ..quarters import refuse_ineligible
from .config import (
    BATCH,
    Config,
    _refuse_published,
    config_for,
    published_message,
)
from .rounds import (
    ensure_rounds,
    office_dealers,
)

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


def _mark_offices_done(
    quarter: Quarter, office_ids: list[int], run: str | None = None, calibration_sums: dict | None = None
) -> None:
    """Count the offices as graded by the run `run` (its start time), unless a later run has
    started since: only the running re-grade's offices count toward its finish (`plan_regrade`).

    `calibration_sums`: the offices' calibration sums as their grading computed them
    (`Engine.grade_offices`), kept for the run's finish; an office missing from them has no
    dealer evaluated."""
    grading = QuarterGrading.objects.select_for_update().get(quarter=str(quarter))
    if run is not None and _run_of(grading) != run:
        return
    fields = []
    done = sorted(set(grading.offices_done) | set(office_ids))
    if done != grading.offices_done:
        grading.offices_done = done
        grading.progress_at = timezone.now()
        fields += ["offices_done", "progress_at"]
    if run is not None and calibration_sums is not None:
        for office_id in office_ids:
            sums = calibration_sums.get(office_id)
            grading.calibration_sums[str(office_id)] = [str(x) for x in sums] if sums else None
        fields.append("calibration_sums")
    if fields:
        grading.save(update_fields=fields)


def grade_offices(
    *,
    quarter: Quarter,
    office_ids: list[int],
    config: Config | None = None,
    engine: "engines.Engine | str | None" = None,
    staged: bool = False,
    run: str | None = None,
) -> dict:
    """Re-grade offices in one transaction: refresh computed indicators, totals and office ranks.

    `staged`: the run's coordinator staged the quarter already (`Engine.stage`).
    `run`: the re-grade this is part of (`_run_of`), whose progress it counts.
    An office whose round another run holds is skipped (that run grades it).
    Returns {"graded": n, "busy": m}.
    """
    refuse_ineligible(quarter)
    _refuse_published(quarter)
    engine = engines.engine_for(engine)
    config = config or config_for(quarter)
    if not staged:
        engine.stage(quarter=quarter)
    round_ids = [r.pk for r in ensure_rounds(quarter=quarter, office_ids=office_ids).values()]
    with transaction.atomic():
        _refuse_published(quarter, lock=True)
        locked = list(EvaluationRound.objects.select_for_update(skip_locked=True).filter(pk__in=round_ids))
        every_office = len(locked) == len(round_ids) and set(office_ids) >= set(
            Office.objects.values_list("pk", flat=True)
        )
        sums = engine.grade_offices(quarter=quarter, config=config, rounds=locked, company_wide=every_office)
        _mark_offices_done(quarter, [r.office_id for r in locked], run, calibration_sums=sums)
    return {"graded": len(locked), "busy": len(round_ids) - len(locked)}


def write_office_grades(*, quarter: Quarter, office_round: EvaluationRound, config: Config) -> None:
    """The office's grades as the rules give them (the Python engine's office step)."""
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
    *,
    quarter: Quarter,
    config: Config | None = None,
    engine: "engines.Engine | str | None" = None,
    classified: bool = False,
    run: str | None = None,
    unchanged: bool = False,
) -> None:
    """Company-wide part of grading: company ranks, classes, changes; tells sales planning once.

    `classified`: the engine already classified every office in the same run.
    `run`: the re-grade finishing (`_run_of`); its offices' input hashes are kept for the next.
    `unchanged`: the run found nothing changed since the last one finished, so ranks, classes
    and the quarter's figures stand as they are.
    """
    _refuse_published(quarter)
    config = config or config_for(quarter)
    with transaction.atomic():
        grading = QuarterGrading.objects.select_for_update().get(quarter=str(quarter))
        if not classified and not unchanged:
            engines.engine_for(engine).finish(quarter=quarter, config=config)
        grading.status = GradingStatus.GRADED
        grading.graded_at = grading.progress_at = timezone.now()
        grading.error = ""
        if not unchanged:
            grading.distribution = class_distribution(quarter=quarter)
            grading.movements = movements.movement_counts(quarter=quarter)
            grading.calibration = calibration.snapshot(
                quarter=quarter,
                kept=grading.calibration,
                office_ids=_graded_since_last(grading, run),
                known=grading.calibration_sums if run is not None and _run_of(grading) == run else None,
            )
        grading.fingerprints = _finished_fingerprints(grading, run)
        grading.planned = {}
        grading.calibration_sums = {}
        grading.save()
        _tell_sales_planning(quarter, Grade.objects.filter(quarter=str(quarter)).count())


def finish_in_python(*, quarter: Quarter, config: Config) -> None:
    """Company ranks, classes and changes by the rules (the Python engine's finish)."""
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
    """Mark a re-grade as running, refusing a quarter not ended or published.

    The input hashes of the last re-grade are kept only when it finished cleanly: after a run
    that failed or is still running, offices may hold grades of inputs no hash describes, so the
    next re-grade grades every office."""
    refuse_regrade(quarter)
    with transaction.atomic():
        grading, _created = QuarterGrading.objects.select_for_update().get_or_create(quarter=str(quarter))
        if grading.status == GradingStatus.PUBLISHED:
            raise ScoringError(published_message(quarter))
        if grading.status != GradingStatus.GRADED or grading.error:
            grading.fingerprints = {}
        grading.planned = {}
        grading.calibration_sums = {}
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


# Re-grading what changed -------------------------------------------------------------------


def _run_of(grading: QuarterGrading) -> str:
    """The re-grade a grading record belongs to: its start time, passed along to its tasks."""
    return grading.started_at.isoformat() if grading.started_at else ""


def config_fingerprint(config: Config) -> str:
    """A hash of the configuration a grading applies: schemes, weights, indicators' methods and
    rules, and the classification policy."""
    policy = config.policy
    described = (
        sorted(
            (kind, kind_config.scheme.pk, sorted((i, str(w)) for i, w in kind_config.weights.items()))
            for kind, kind_config in config.kinds.items()
        ),
        sorted((i.pk, i.method, i.missing_rule) for i in config.indicators.values()),
        (
            policy.pk,
            policy.method,
            str(policy.quota_a),
            str(policy.quota_b),
            str(policy.band_a),
            str(policy.band_b),
        ),
    )
    return hashlib.sha256(repr(described).encode()).hexdigest()


@dataclass
class RegradePlan:
    """What a re-grade does: `offices` to grade (the others' inputs are as the last re-grade found
    them); `full`: the configuration or the sales changed, so it stages the quarter's sales
    indicators and grades every office."""

    run: str
    config: Config
    offices: list[int]
    full: bool
    # the hash of what staging reads, taken with the plan (None where the engine keeps none)
    sales: str | None = None


def plan_regrade(*, quarter: Quarter, engine: "engines.Engine") -> RegradePlan:
    """Start a re-grade (`start_grading`) and find what changed since the last one finished.

    Work in proportion to the change (DESIGN.md §7): an office is graded again only when the hash
    of what its grades are made of differs from the one stored by the last finished re-grade
    (`scoring.sql.input_fingerprints`); a changed configuration or sales (company-wide
    percentiles) grades every office. Company ranks and quotas are then recomputed company-wide
    by `finish_grading`, so the result is the full re-grade's (tested row for row). The offices
    left as they are count as done at once.
    """
    grading = start_grading(quarter=quarter)
    config = config_for(quarter)
    run = _run_of(grading)
    offices = list(Office.objects.order_by("code").values_list("pk", flat=True))
    now = engine.fingerprints(quarter=quarter)
    if now is None:
        return RegradePlan(run=run, config=config, offices=offices, full=True)
    now["config"] = config_fingerprint(config)
    now["grades"] = Grade.objects.filter(quarter=str(quarter)).count()
    changed = _changed_offices(now, grading.fingerprints, offices)
    full = changed is None
    if full:
        changed = offices
    with transaction.atomic():
        current = QuarterGrading.objects.select_for_update().get(pk=grading.pk)
        if _run_of(current) == run:
            current.planned = now
            current.offices_done = sorted(set(offices) - set(changed))
            current.save(update_fields=["planned", "offices_done"])
    return RegradePlan(run=run, config=config, offices=changed, full=full, sales=now["sales"])


def _changed_offices(now: dict, stored: dict, offices) -> list[int] | None:
    """The `offices` whose input hash in `now` differs from `stored` (or that have none yet);
    None when every office is to be graded: nothing stored, or the configuration, the sales or
    the number of grades changed (grades deleted or added outside grading make hashes meaningless)."""
    if not stored or any(stored.get(key) != now.get(key) for key in ("config", "sales", "grades")):
        return None
    before, hashes = stored.get("offices", {}), now["offices"]
    return [o for o in offices if str(o) not in hashes or hashes[str(o)] != before.get(str(o))]


def _graded_since_last(grading: QuarterGrading, run: str | None) -> list[int] | None:
    """The offices the finishing run graded because their inputs changed, when it graded only
    those (every other office stands as the last finished re-grade left it); None otherwise."""
    planned, stored = grading.planned, grading.fingerprints
    if run is None or _run_of(grading) != run or not planned:
        return None
    offices = sorted({int(o) for o in planned["offices"]} | {int(o) for o in stored.get("offices", {})})
    return _changed_offices(planned, stored, offices)


def _finished_fingerprints(grading: QuarterGrading, run: str | None) -> dict:
    """The input hashes a finishing re-grade leaves for the next: those it planned, for the offices
    it graded or found unchanged. None when another run has started since, or nothing was planned."""
    if run is None or _run_of(grading) != run or not grading.planned:
        return {}
    done = {str(office_id) for office_id in grading.offices_done}
    planned = grading.planned
    return {
        "config": planned["config"],
        "sales": planned["sales"],
        "grades": Grade.objects.filter(quarter=grading.quarter).count(),
        "offices": {office_id: h for office_id, h in planned["offices"].items() if office_id in done},
    }


def regrade_quarter(*, quarter: Quarter, engine: "engines.Engine | str | None" = None) -> dict:
    """Re-grade the offices whose inputs changed (`plan_regrade`) in this process, then finish
    company-wide. Returns {"graded": n, "busy": m, "unchanged": k}."""
    engine = engines.engine_for(engine)
    plan = plan_regrade(quarter=quarter, engine=engine)
    outcome = defaultdict(int)
    try:
        if plan.full:
            engine.stage(quarter=quarter, inputs=plan.sales)
        for batch in engine.batches(plan.offices) if plan.offices else []:
            result = grade_offices(
                quarter=quarter,
                office_ids=batch,
                config=plan.config,
                engine=engine,
                staged=True,
                run=plan.run,
            )
            for key, count in result.items():
                outcome[key] += count
    except Exception as exc:
        record_grading_error(quarter=quarter, error=exc)
        raise
    classified = plan.full and engine.classifies_company_wide and not outcome["busy"]
    finish_grading(
        quarter=quarter,
        config=plan.config,
        engine=engine,
        classified=classified,
        run=plan.run,
        unchanged=not plan.offices,
    )
    total = Office.objects.count()
    return {"graded": outcome["graded"], "busy": outcome["busy"], "unchanged": total - len(plan.offices)}


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
    from ..followup import appeals

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
    from ..followup import appeals, watchlist

    lapsed = appeals.on_publish(quarter=quarter, user=user)
    return {"lapsed_appeals": lapsed, **watchlist.on_publish(quarter=quarter, user=user)}
