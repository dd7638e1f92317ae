"""Pages of the quarterly evaluation: rounds, the score grid, sheets, the ABC list, jobs."""

import functools
import hashlib
import logging
from decimal import ROUND_HALF_UP, Decimal

import kombu.exceptions
import redis.exceptions
from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from dealers.access import role_required
from dealers.models import DealerKind, Office
from dealers.roles import Role, allowed, display_name, sees_all_offices
from evalsys import reports
from evalsys.fragments import TIMEOUT as FRAGMENT_TIMEOUT
from evalsys.fragments import fragment_digest
from evalsys.imports_view import import_page
from evalsys.pagination import paginate
from evalsys.periods import Quarter, quarter_just_ended
from evalsys.tabular import export_response
from evalsys.uploads import serve_protected

from . import services, tasks
from .exports import ABC_COLUMNS, abc_report_columns, abc_report_rows, abc_rows
from .followup.appeals import open_appeals
from .imports import ScoreImporter
from .models import (
    ClassBenefit,
    EvaluationRound,
    Grade,
    GradingStatus,
    QuarterGrading,
    RoundStatus,
    Score,
    ScoreSheet,
)
from .quarters import eligible_quarters, refuse_ineligible

logger = logging.getLogger(__name__)

EDIT_ROLES = (Role.OFFICE_MANAGER,)
PLANNING = (Role.SALES_PLANNING,)


def _next_or(request, fallback):
    """The form's `next` when it is a path on this site, else `fallback`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def _quarter_param(request, default=None):
    """The quarter asked for, else `default()` (queried only then), else the quarter just ended."""
    text = request.GET.get("quarter") or request.POST.get("quarter")
    if text:
        try:
            return Quarter.parse(text)
        except ValueError:
            raise Http404 from None
    return (default and default()) or quarter_just_ended()


# Rounds -----------------------------------------------------------------------------


ROUNDS_PER_PAGE = 50


def round_list(request):
    visible = EvaluationRound.objects.visible_to(request.user)
    quarters = list(visible.order_by("-quarter").values_list("quarter", flat=True).distinct())
    quarter = request.GET.get("quarter", "")
    rounds = visible.select_related("office")
    if quarter in quarters:
        rounds = rounds.filter(quarter=quarter)
    else:
        quarter = ""
    page = paginate(request, rounds, per_page=ROUNDS_PER_PAGE).page
    page.object_list = list(page.object_list)
    progress = services.progress_by_round(rounds=page.object_list)
    for r in page.object_list:
        r.complete, r.total = progress.get(r.pk, (0, 0))
    return render(
        request,
        "scoring/round_list.html",
        {
            "rounds": page.object_list,
            "page": page,
            "query": f"quarter={quarter}" if quarter else "",
            "quarters": quarters,
            "quarter": quarter,
            "can_run_jobs": allowed(request.user, *PLANNING),
            "can_import_scores": allowed(request.user, Role.OFFICE_MANAGER, Role.SALES_PLANNING),
            "job_quarters": eligible_quarters() if allowed(request.user, *PLANNING) else [],
            "job_quarter": request.GET.get("quarter") or str(quarter_just_ended()),
        },
    )


class CommitteeForm(forms.ModelForm):
    class Meta:
        model = EvaluationRound
        fields = ["meeting_date", "chair", "participants"]
        widgets = {
            "meeting_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "participants": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        staff = (
            get_user_model()
            .objects.filter(staff_profile__office=self.instance.office_id)
            .order_by("username")
        )
        self.fields["chair"].queryset = staff.filter(groups__name=Role.OFFICE_MANAGER)
        self.fields["participants"].queryset = staff.filter(
            groups__name__in=[Role.BUSINESS_MANAGER, Role.INTERNAL_SUPERVISOR, Role.STATISTICIAN]
        ).distinct()
        self.fields["participants"].help_text = _(
            "Business managers, internal-affairs supervisor, statistician"
        )
        for name in ("chair", "participants"):
            self.fields[name].label_from_instance = display_name


def _round_for(user, pk):
    return get_object_or_404(EvaluationRound.objects.visible_to(user).select_related("office"), pk=pk)


def round_detail(request, pk):
    office_round = _round_for(request.user, pk)
    can_edit = allowed(request.user, *EDIT_ROLES) and not office_round.locked
    form = CommitteeForm(request.POST or None, instance=office_round)
    if request.method == "POST":
        if not can_edit:
            raise Http404
        if form.is_valid():
            try:
                services.save_committee(
                    round=office_round,
                    meeting_date=form.cleaned_data["meeting_date"],
                    chair=form.cleaned_data["chair"],
                    participants=form.cleaned_data["participants"],
                    user=request.user,
                )
            except services.ScoringError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, _("The committee was saved."))
                return redirect(office_round)
    complete, total = services.round_progress(round=office_round)
    return render(
        request,
        "scoring/round_detail.html",
        {
            "round": office_round,
            "form": form,
            "can_edit": can_edit,
            "can_approve": allowed(request.user, *EDIT_ROLES),
            # Only what the services would accept is offered: reopening ends with publication.
            "can_reopen": allowed(request.user, *PLANNING)
            and office_round.status != RoundStatus.OPEN
            and not QuarterGrading.objects.filter(
                quarter=office_round.quarter, status=GradingStatus.PUBLISHED
            ).exists(),
            "missing": total - complete,
            "committee_problems": services.committee_problems(office_round),
            "complete": complete,
            "total": total,
            "reopenings": office_round.reopenings.select_related("by"),
            "participants": office_round.participants.all(),
        },
    )


@require_POST
def round_action(request, pk, action):
    office_round = _round_for(request.user, pk)
    roles_for = {
        "submit": EDIT_ROLES,
        "approve": EDIT_ROLES,
        "reopen": PLANNING,
    }
    if action not in roles_for or not allowed(request.user, *roles_for[action]):
        raise Http404
    try:
        if action == "submit":
            services.submit_round(round=office_round, user=request.user)
            messages.success(request, _("The round was submitted."))
        elif action == "approve":
            services.approve_round(round=office_round, user=request.user)
            messages.success(request, _("The round was approved; its scores are locked."))
        else:
            services.reopen_round(
                round=office_round, reason=request.POST.get("reason", ""), user=request.user
            )
            messages.success(request, _("The round was reopened."))
    except services.ScoringError as exc:
        messages.error(request, str(exc))
    return redirect(office_round)


# The score grid -------------------------------------------------------------------------


def _grid_data(office_round):
    """What the grid shows: the weights in force, the round's sheets with their dealers, and
    their scores (three queries)."""
    config = services.config_for(Quarter.parse(office_round.quarter))
    sheets = list(
        ScoreSheet.objects.filter(round=office_round).select_related("dealer").order_by("dealer__code")
    )
    scores = list(
        Score.objects.filter(sheet__round=office_round).values(
            "id", "sheet_id", "indicator_id", "value", "override_value", "override_reason", "computed"
        )
    )
    return config, sheets, scores


def _grid_digest(data, can_edit) -> str:
    """The digest of a grid without posted values, errors or conflicts (evalsys.fragments): its
    weights, sheets and dealers, can_edit, and the scores (plain values, hashed as they are)."""
    config, sheets, scores = data
    return fragment_digest(config, sheets, can_edit, hashlib.sha1(repr(scores).encode()).hexdigest())


def _grid_sections(office_round, posted=None, errors=None, conflicts=None, data=None):
    """The grid's two sections (one per dealer kind): indicators, weights and rows of cells."""
    config, sheets, score_rows = data or _grid_data(office_round)
    scores = {}
    for s in score_rows:
        scores[(s["sheet_id"], s["indicator_id"])] = s
    errors, conflicts = errors or {}, conflicts or {}
    sections = []
    for kind, label in DealerKind.choices:
        kind_config = config.kinds.get(kind)
        if kind_config is None:
            continue
        indicators = sorted(
            (config.indicators[i] for i in kind_config.weights), key=lambda i: (i.position, i.code)
        )
        rows = []
        for sheet in sheets:
            if sheet.dealer.kind != kind:
                continue
            cells = []
            for ind in indicators:
                score = scores.get((sheet.pk, ind.pk))
                if score is None:
                    cells.append(None)
                    continue
                name = f"s-{sheet.pk}-{ind.pk}"
                value = score["override_value"] if score["override_value"] is not None else score["value"]
                shown = posted.get(name, "") if posted is not None and not score["computed"] else value
                theirs = conflicts.get(sheet.pk, {}).get("scores", {}).get(ind.pk, "")
                cells.append(
                    {
                        "name": name,
                        "score": score,
                        "indicator": ind,
                        "weight": kind_config.weights[ind.pk],
                        "shown": "" if shown is None else shown,
                        "error": errors.get((sheet.pk, ind.pk)),
                        "theirs": "" if theirs is None else theirs,
                    }
                )
            rows.append({"sheet": sheet, "cells": cells, "conflict": conflicts.get(sheet.pk)})
        sections.append(
            {
                "kind": kind,
                "label": label,
                "indicators": [{"indicator": i, "weight": kind_config.weights[i.pk]} for i in indicators],
                "rows": rows,
            }
        )
    return sections


def grid(request, pk):
    office_round = _round_for(request.user, pk)
    can_edit = allowed(request.user, *EDIT_ROLES) and not office_round.locked
    posted, errors, conflicts = None, None, None
    status = 200
    if request.method == "POST":
        if not can_edit:
            raise Http404
        entries = _grid_entries(request.POST)
        try:
            saved = services.save_grid(round=office_round, entries=entries, user=request.user)
        except services.GridErrors as exc:
            posted, errors, conflicts = request.POST, exc.errors, exc.conflicts
            status = 409 if conflicts else 400
            if conflicts:
                messages.error(
                    request,
                    _(
                        "Someone else saved some of these sheets meanwhile. Nothing was saved: both versions "
                        "are shown; check them and save again."
                    ),
                )
            else:
                messages.error(request, str(exc))
        except services.ScoringError as exc:
            messages.error(request, str(exc))
            return redirect("scoring:grid", pk=office_round.pk)
        else:
            messages.success(request, _("%(count)s scores saved.") % {"count": saved})
            return redirect("scoring:grid", pk=office_round.pk)
    # The form carries each sheet's current version, so after a conflict saving again overwrites knowingly.
    data = _grid_data(office_round)
    # Without posted values, errors or conflicts the grid is rendered once per content (its
    # 500 rows of 10 cells are most of the page's time); the sections are built only to render.
    plain = posted is None and not errors and not conflicts
    complete, total = services.round_progress(round=office_round)
    return render(
        request,
        "scoring/grid.html",
        {
            "round": office_round,
            "sections": functools.cache(
                lambda: _grid_sections(office_round, posted, errors, conflicts, data)
            ),
            "grid_digest": _grid_digest(data, can_edit) if plain else "not cached",
            "grid_timeout": FRAGMENT_TIMEOUT if plain else 0,  # 0: rendered, not kept
            "can_edit": can_edit,
            "complete": complete,
            "total": total,
        },
        status=status,
    )


def _grid_entries(post) -> dict:
    """`v-<sheet>` versions and `s-<sheet>-<indicator>` scores → save_grid's entries; other keys ignored."""
    entries = {}
    for key, value in post.items():
        if key.startswith("v-") and key[2:].isdigit() and value.isdigit():
            entries[int(key[2:])] = {"version": int(value), "scores": {}}
    for key, value in post.items():
        parts = key.split("-")
        well_formed = len(parts) == 3 and parts[0] == "s" and parts[1].isdigit() and parts[2].isdigit()
        if well_formed and int(parts[1]) in entries:
            entries[int(parts[1])]["scores"][int(parts[2])] = value
    return entries


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@role_required(*EDIT_ROLES)
@require_POST
def score_override(request, pk):
    """Save an override; the grid sends it with fetch and gets JSON, so the scores typed meanwhile stay."""
    score = get_object_or_404(
        Score.objects.select_related("sheet__round", "sheet__dealer", "indicator").filter(
            sheet__in=ScoreSheet.objects.visible_to(request.user)
        ),
        pk=pk,
    )
    shown = (
        (request.POST["shown_value"], request.POST.get("shown_reason", ""))
        if "shown_value" in request.POST
        else None
    )
    try:
        score = services.override_score(
            score=score,
            value=request.POST.get("value", ""),
            reason=request.POST.get("reason", ""),
            user=request.user,
            shown=shown,
        )
    except services.Conflict as exc:
        if _wants_json(request):
            theirs = exc.theirs
            value = _score_text(theirs["value"])
            return JsonResponse(
                {
                    "error": str(exc),
                    "theirs": {"value": value, "reason": theirs["reason"]},
                    "theirs_text": _("Stored now: %(value)s; reason: %(reason)s")
                    % {"value": value or _("no override"), "reason": theirs["reason"] or "—"},
                },
                status=409,
            )
        messages.error(request, str(exc))
    except services.ScoringError as exc:
        if _wants_json(request):
            return JsonResponse({"error": str(exc)}, status=400)
        messages.error(request, str(exc))
    else:
        if _wants_json(request):
            return JsonResponse(
                {
                    "value": _score_text(score.override_value),
                    "reason": score.override_reason,
                    "effective": _score_text(score.effective),
                    "message": _("The override was saved."),
                }
            )
        messages.success(request, _("The override was saved."))
    return redirect(_next_or(request, reverse("scoring:grid", args=[score.sheet.round_id])))


def _score_text(value) -> str:
    return "" if value is None else str(value)


# A dealer's sheet: comments and photo evidence ----------------------------------------------


class EvidenceForm(forms.ModelForm):
    class Meta:
        model = Score
        fields = ["comment", "photo"]
        widgets = {"comment": forms.Textarea(attrs={"rows": 2})}


def score_photo(request, pk):
    """A score's photo evidence, to those who see its sheet (`visible_to`); never from /media/."""
    score = get_object_or_404(
        Score.objects.filter(sheet__in=ScoreSheet.objects.visible_to(request.user)).exclude(photo=""), pk=pk
    )
    return serve_protected(score.photo)


def sheet_detail(request, pk):
    """One dealer's sheet as ONE form: manual scores, the committee comment and each indicator's evidence.

    A refused save shows the page again with everything typed kept (a chosen photo must be chosen again,
    browsers do not resend files) and, after a conflict, what is stored now beside it.
    """
    sheet = get_object_or_404(
        ScoreSheet.objects.visible_to(request.user).select_related("round__office", "dealer"), pk=pk
    )
    can_edit = allowed(request.user, *EDIT_ROLES) and not sheet.round.locked
    scores = list(sheet.scores.select_related("indicator").order_by("indicator__position", "indicator__code"))
    post, errors, conflicts, status = None, {}, {}, 200
    evidence_forms = {}
    if request.method == "POST":
        if not can_edit:
            raise Http404
        post = request.POST
        edit, evidence_forms = _sheet_edit(request, sheet, scores)
        if any(form.errors for form in evidence_forms.values()):
            status = 400
        else:
            try:
                services.save_sheet(sheet=sheet, edit=edit, user=request.user)
            except services.GridErrors as exc:
                errors, conflicts = exc.errors, exc.conflicts
                status = 409 if conflicts else 400
                messages.error(request, str(exc))
            except services.ScoringError as exc:
                messages.error(request, str(exc))
                return redirect(sheet)
            else:
                messages.success(request, _("The sheet was saved."))
                return redirect(sheet)
        sheet.refresh_from_db()
    for score in scores:
        key = f"e{score.pk}"
        score.form = evidence_forms.get(score.pk) or EvidenceForm(instance=score, prefix=key)
        score.typed_comment = post.get(f"{key}-comment", score.comment) if post is not None else score.comment
        score.theirs_comment = conflicts.get(key)
        score.comment_shown = (
            score.theirs_comment
            if key in conflicts
            else (post.get(f"{key}-comment_shown", score.comment) if post is not None else score.comment)
        )
        name = f"s-{score.indicator_id}"
        if not score.computed:
            score.typed = (
                post.get(name, "") if post is not None else ("" if score.value is None else score.value)
            )
            score.error = errors.get((sheet.pk, score.indicator_id))
            theirs = conflicts.get(sheet.pk, {}).get("scores", {})
            score.theirs = theirs.get(score.indicator_id, "") if sheet.pk in conflicts else None
    comment_conflict = "comment" in conflicts
    return render(
        request,
        "scoring/sheet.html",
        {
            "sheet": sheet,
            "scores": scores,
            "can_edit": can_edit,
            "version": conflicts[sheet.pk]["version"]
            if sheet.pk in conflicts
            else (post.get("v", sheet.version) if post is not None else sheet.version),
            "typed_comment": post.get("sheet_comment", sheet.comment) if post is not None else sheet.comment,
            "comment_shown": conflicts["comment"]
            if comment_conflict
            else (post.get("sheet_comment_shown", sheet.comment) if post is not None else sheet.comment),
            "theirs_comment": conflicts.get("comment"),
            "comment_conflict": comment_conflict,
            "score_conflict": sheet.pk in conflicts,
        },
        status=status,
    )


def _sheet_edit(request, sheet, scores):
    """The sheet page's POST as a services.SheetEdit, and the evidence forms (they check the photos).

    Fields the POST leaves out are left as stored: their "shown" text defaults to what is stored.
    """
    post = request.POST
    by_indicator = {score.indicator_id: score for score in scores}
    typed = {}
    for key, value in post.items():
        parts = key.split("-")
        if len(parts) == 2 and parts[0] == "s" and parts[1].isdigit() and int(parts[1]) in by_indicator:
            typed[int(parts[1])] = value
    evidence, forms_by_score = {}, {}
    for score in scores:
        key = f"e{score.pk}"
        if f"{key}-comment" not in post and f"{key}-photo" not in request.FILES:
            continue
        form = EvidenceForm(post, request.FILES, instance=Score(), prefix=key)
        forms_by_score[score.pk] = form
        if form.is_valid():
            evidence[score.pk] = {
                "comment": post.get(f"{key}-comment", score.comment),
                "shown": post.get(f"{key}-comment_shown", score.comment),
                "photo": form.cleaned_data.get("photo"),
            }
    version = post.get("v", "")
    edit = services.SheetEdit(
        version=int(version) if version.isdigit() else sheet.version,
        scores=typed,
        comment=post.get("sheet_comment", sheet.comment),
        comment_shown=post.get("sheet_comment_shown", sheet.comment),
        evidence=evidence,
    )
    return edit, forms_by_score


@role_required(Role.OFFICE_MANAGER, Role.SALES_PLANNING)
def score_import(request):
    """Manual scores from a file, e.g. a committee that met on paper; the user's offices only."""
    return import_page(
        request,
        ScoreImporter(user=request.user),
        title=_("Import scores"),
        columns_help=_(
            "dealer/经销商编码, quarter/季度 (2026Q3), indicator/指标 (code or Chinese name), score/得分"
        ),
        done_url=reverse("scoring:rounds"),
    )


# The ABC list ---------------------------------------------------------------------------

# Sort key → (fields before the sorted one, the sorted field); "-key" sorts that field descending.
# Empty values (a dealer not evaluated has no total or rank) come last either way.
SORTS = {
    "code": ((), "dealer__code"),
    "total": ((), "total"),
    "company_rank": (("kind",), "company_rank"),
    "office_rank": (("office__code", "kind"), "office_rank"),
    "office": ((), "office__code"),
    "class": ((), "final_class"),
}


def _abc_order(sort: str) -> list:
    """The ORDER BY of the ABC list for `sort` ("total", "-total", …; unknown: by dealer code).

    >>> [str(o) for o in _abc_order("-total")]
    ['OrderBy(F(total), descending=True)', 'OrderBy(F(dealer__code), descending=False)']
    """
    before, field = SORTS.get(sort.removeprefix("-"), SORTS["code"])
    main = F(field).desc(nulls_last=True) if sort.startswith("-") else F(field).asc(nulls_last=True)
    return [*(F(f).asc() for f in before), main, F("dealer__code").asc()]


class AbcFilterForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Search"), required=False)
    office = forms.ModelChoiceField(
        label=gettext_lazy("Office"), queryset=Office.objects.none(), required=False
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=[("", "---------"), *DealerKind.choices], required=False
    )
    final_class = forms.ChoiceField(
        label=gettext_lazy("Class"),
        choices=[("", "---------"), ("A", "A"), ("B", "B"), ("C", "C")],
        required=False,
    )
    change = forms.ChoiceField(
        label=pgettext_lazy("class movement", "Change"),
        choices=[("", "---------"), *Grade._meta.get_field("change").choices],
        required=False,
    )
    overridden = forms.BooleanField(label=gettext_lazy("Overridden only"), required=False)
    not_evaluated = forms.BooleanField(label=gettext_lazy("Not evaluated only"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["office"].queryset = Office.objects.visible_to(user)

    def apply(self, grades):
        if not self.is_valid():
            return grades
        data = self.cleaned_data
        if data["q"]:
            grades = grades.filter(
                Q(dealer__code__icontains=data["q"]) | Q(dealer__name__icontains=data["q"])
            )
        if data["office"]:
            grades = grades.filter(office=data["office"])
        if data["kind"]:
            grades = grades.filter(kind=data["kind"])
        if data["final_class"]:
            grades = grades.filter(final_class=data["final_class"])
        if data["change"]:
            grades = grades.filter(change=data["change"])
        if data["overridden"]:
            grades = grades.filter(overridden=True)
        if data["not_evaluated"]:
            grades = grades.filter(evaluated=False)
        return grades


def _latest_quarter():
    latest = QuarterGrading.objects.order_by("-quarter").values_list("quarter", flat=True).first()
    return Quarter.parse(latest) if latest else None


def _abc_grades(request, quarter):
    form = AbcFilterForm(request.GET or None, user=request.user)
    grades = form.apply(Grade.objects.visible_to(request.user).filter(quarter=str(quarter)))
    return form, grades


def _filtered(form) -> bool:
    return form.is_bound and form.is_valid() and any(form.cleaned_data.values())


def abc_list(request):
    quarter = _quarter_param(request, _latest_quarter)
    form, grades = _abc_grades(request, quarter)
    sort = request.GET.get("sort", "code")
    grading = QuarterGrading.objects.filter(quarter=str(quarter)).first()
    offices = {
        pk: (code, name)
        for pk, code, name in Office.objects.visible_to(request.user).values_list("pk", "code", "name")
    }
    cached = grading.distribution if grading else {}
    distribution = {
        name: cached[str(pk)]
        for pk, (code, name) in sorted(offices.items(), key=lambda o: o[1][0])
        if str(pk) in cached
    }
    count = None
    if grading and grading.status != GradingStatus.GRADING and not _filtered(form):
        # Unfiltered, the rows are the distribution's: no count over the quarter's grades.
        count = sum(sum(classes.values()) for classes in distribution.values())
    paged = paginate(
        request,
        grades.select_related("dealer", "office").order_by(*_abc_order(sort)),
        per_page=50,
        count=count,
    )
    chart = {
        "labels": list(distribution),
        "series": {c: [distribution[o][c] for o in distribution] for c in "ABC"},
    }
    class_table = _class_table(distribution)
    return render(
        request,
        "scoring/abc_list.html",
        {
            "quarter": quarter,
            "grading": grading,
            "form": form,
            "page": paged.page,
            "query": paged.query,
            "sort_query": paged.sort_query,
            "sort": sort,
            "chart": chart,
            "class_table": class_table,
            "benefits": ClassBenefit.objects.all(),
            "is_planner": allowed(request.user, *PLANNING),
            "open_appeals": list(open_appeals(quarter)[:50])
            if allowed(request.user, *PLANNING) and grading and grading.status == GradingStatus.GRADED
            else [],
            "can_appeal": allowed(request.user, Role.OFFICE_MANAGER)
            and grading is not None
            and grading.status == GradingStatus.GRADED,
            "show_office": sees_all_offices(request.user),
            "quarters": QuarterGrading.objects.values_list("quarter", flat=True)[:40],
        },
    )


def _class_table(distribution: dict) -> list[dict]:
    """Per office and for all of them: the count and share (percent) of each final class.

    >>> _class_table({"上海": {"A": 1, "B": 2, "C": 1}})[0]["cells"]
    [(1, Decimal('25.0')), (2, Decimal('50.0')), (1, Decimal('25.0'))]
    """
    rows = [(office, [classes.get(c, 0) for c in "ABC"]) for office, classes in distribution.items()]
    if len(rows) > 1:
        rows.append((_("All offices"), [sum(counts[i] for _o, counts in rows) for i in range(3)]))
    table = []
    for office, counts in rows:
        total = sum(counts)
        shares = [
            (Decimal(100) * n / total).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if total else None
            for n in counts
        ]
        table.append({"office": office, "cells": list(zip(counts, shares, strict=True)), "total": total})
    return table


def abc_export(request):
    quarter = _quarter_param(request, _latest_quarter)
    _form, grades = _abc_grades(request, quarter)
    if request.GET.get("format") == "report":
        return reports.report_response(
            name=f"abc-{quarter}",
            title=_("ABC list %(quarter)s") % {"quarter": quarter},
            columns=abc_report_columns(),
            rows=abc_report_rows(grades),
        )
    return export_response(request, name=f"abc-{quarter}", columns=ABC_COLUMNS, rows=abc_rows(grades))


@role_required(*PLANNING)
@require_POST
def grade_override(request, pk):
    grade = get_object_or_404(Grade.objects.visible_to(request.user).select_related("dealer"), pk=pk)
    try:
        services.override_class(
            grade=grade,
            final_class=request.POST.get("final_class", ""),
            reason=request.POST.get("reason", ""),
            user=request.user,
        )
        messages.success(
            request,
            _("%(dealer)s is now class %(cls)s.") % {"dealer": grade.dealer, "cls": grade.final_class},
        )
    except services.ScoringError as exc:
        messages.error(request, str(exc))
    return redirect(_next_or(request, f"{reverse('scoring:abc_list')}?quarter={grade.quarter}"))


@role_required(*PLANNING)
def publish(request):
    """GET: what is unfinished in the quarter, and a button to publish it as it is; POST: publish."""
    quarter = _quarter_param(request)
    grading = QuarterGrading.objects.filter(quarter=str(quarter)).first()
    if request.method == "POST" or grading is None:
        try:
            services.publish_quarter(quarter=quarter, user=request.user, allow_unfinished=True)
            messages.success(request, _("%(quarter)s is published.") % {"quarter": quarter})
        except services.ScoringError as exc:
            messages.error(request, str(exc))
        return redirect(f"{reverse('scoring:abc_list')}?quarter={quarter}")
    unfinished = services.unfinished_for_publish(quarter)
    return render(
        request,
        "scoring/publish.html",
        {
            "quarter": quarter,
            "grading": grading,
            "unfinished": unfinished.values(),
            "anything_unfinished": any(entry["count"] for entry in unfinished.values()),
        },
    )


# Jobs from the web ---------------------------------------------------------------------------


class JobForm(forms.Form):
    """A quarterly job for a quarter that qualifies (DESIGN.md §3.5): offered as a list."""

    quarter = forms.ChoiceField(label=gettext_lazy("Quarter"))
    action = forms.ChoiceField(
        choices=[
            ("open", gettext_lazy("Open the quarter")),
            ("regrade", gettext_lazy("Re-grade the quarter")),
        ]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["quarter"].choices = [(str(q), str(q)) for q in eligible_quarters()]

    def clean_quarter(self):
        return Quarter.parse(self.cleaned_data["quarter"])

    def full_clean(self):
        super().full_clean()
        # A quarter not offered gets the reason it does not qualify, not a bare "not a choice".
        raw = self.data.get("quarter", "")
        if "quarter" in self.errors:
            try:
                refuse_ineligible(Quarter.parse(raw))
            except ValueError:
                self.errors["quarter"] = self.error_class([_("Choose a quarter like 2026Q3 from the list.")])
            except services.ScoringError as exc:
                self.errors["quarter"] = self.error_class([str(exc)])


# What a failed hand-over to the broker raises: kombu's errors, the socket's, redis-py's.
QUEUE_ERRORS = (kombu.exceptions.KombuError, OSError, RuntimeError, redis.exceptions.RedisError)


@role_required(*PLANNING)
@require_POST
def job_start(request):
    form = JobForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(reverse("scoring:rounds"))
    quarter, action = form.cleaned_data["quarter"], form.cleaned_data["action"]
    try:
        if action == "open":
            services.refuse_open(quarter)
            _enqueue(tasks.open_quarter_task, quarter)
            messages.success(request, _("Opening %(quarter)s was started.") % {"quarter": quarter})
        else:
            services.refuse_regrade(quarter)
            _enqueue(tasks.regrade_quarter_task, quarter)
            messages.success(request, _("Re-grading %(quarter)s was started.") % {"quarter": quarter})
    except services.ScoringError as exc:
        messages.error(request, str(exc))
    except QUEUE_ERRORS:
        # The broker (Redis) is down: say so at once; nothing was marked as running.
        logger.exception("could not queue the %s job for %s", action, quarter)
        messages.error(
            request, _("The job could not be queued: the job queue is not reachable. Please try again later.")
        )
    return redirect(f"{reverse('scoring:rounds')}?quarter={quarter}")


# A broker that does not take the job at once is reported as down: one attempt, a second to connect.
ENQUEUE_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1, "max_retries": 0}


def _enqueue(task, quarter):
    """Hand the job to the broker once, without waiting: no retries, no result subscription (the
    jobs card reads the job's progress from the database). Workers keep their own, patient,
    connection settings."""
    if task.app.conf.task_always_eager:
        task.apply_async((str(quarter),), ignore_result=True)
        return
    with task.app.connection_for_write(
        connect_timeout=1, transport_options=ENQUEUE_TRANSPORT_OPTIONS
    ) as connection:
        task.apply_async((str(quarter),), ignore_result=True, retry=False, connection=connection)


@role_required(*PLANNING)
def job_status(request, quarter):
    try:
        quarter = Quarter.parse(quarter)
    except ValueError:
        raise Http404 from None
    grading = QuarterGrading.objects.filter(quarter=str(quarter)).first()
    rounds = EvaluationRound.objects.filter(quarter=str(quarter)).aggregate(
        n=Count("id"), approved=Count("id", filter=Q(status=RoundStatus.APPROVED))
    )
    return JsonResponse(
        {
            "quarter": str(quarter),
            "rounds": rounds["n"],
            "approved": rounds["approved"],
            "status": grading.status if grading else None,
            "status_label": grading.get_status_display() if grading else "",
            "offices_done": len(grading.offices_done) if grading else 0,
            "offices_total": grading.offices_total if grading else 0,
            "running": bool(
                grading
                and grading.status == GradingStatus.GRADING
                and not grading.error
                and not grading.stalled
            ),
            "stalled": bool(grading and grading.stalled),
            "error": grading.error if grading else "",
            "checked_at": timezone.now().isoformat(),
        }
    )
