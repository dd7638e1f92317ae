"""Pages of the follow-through: the support ledger and its quarter report, the watch list, appeals."""

from django.contrib import messages
from django.db.models import Count, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dealers.access import role_required
from dealers.models import Dealer, Office
from dealers.roles import Role, allowed, display_name, sees_all_offices
from evalsys import reports as evalsys_reports
from evalsys.fragments import fragment_digest
from evalsys.imports_view import import_page
from evalsys.pagination import paginate
from evalsys.periods import Quarter
from evalsys.tabular import export_response
from scoring.models import Grade, GradingStatus, QuarterGrading
from scoring.services import ScoringError

from . import appeals as appeal_service
from . import reports, rules, support, watchlist
from .forms import (
    AppealDecisionForm,
    AppealFilterForm,
    AppealForm,
    DecisionForm,
    NoteForm,
    PlanForm,
    SupportFilterForm,
    SupportForm,
    WatchFilterForm,
)
from .imports import SupportImporter
from .models import Appeal, AppealStatus, ProposalStatus, SupportEntry, SupportKind, WatchEntry, WatchStatus

PER_PAGE = 50


def _page(request, queryset):
    paged = paginate(request, queryset, per_page=PER_PAGE)
    return paged.page, paged.query


def _quarter(request, default):
    text = request.GET.get("quarter")
    if text:
        try:
            return Quarter.parse(text)
        except ValueError:
            raise Http404 from None
    return default()


def _latest_graded() -> Quarter:
    latest = (
        QuarterGrading.objects.exclude(status=GradingStatus.GRADING)
        .order_by("-quarter")
        .values_list("quarter", flat=True)
        .first()
    )
    return Quarter.parse(latest) if latest else Quarter.containing(timezone.localdate()).previous()


# Support ledger ---------------------------------------------------------------------------


def support_list(request):
    form = SupportFilterForm(request.GET or None, user=request.user)
    entries = form.apply(SupportEntry.objects.visible_to(request.user))
    totals = entries.aggregate(count=Count("id"), value=Sum("value"))
    page, query = _page(request, entries.select_related("dealer__office", "recorded_by"))
    return render(
        request,
        "scoring/followup/support_list.html",
        {
            "form": form,
            "page": page,
            "query": query,
            "totals": totals,
            "can_record": support.may_record(request.user),
            "show_office": sees_all_offices(request.user),
        },
    )


@role_required(*support.RECORD_ROLES)
def support_new(request):
    dealers = Dealer.objects.visible_to(request.user)
    initial = {"dealer": request.GET.get("dealer", "")[:30]}
    form = SupportForm(request.POST or None, dealers=dealers, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            entry = support.record_support(user=request.user, **form.cleaned_data)
        except ScoringError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Support of %(value)s yuan to %(dealer)s recorded.")
                % {"value": entry.value, "dealer": entry.dealer},
            )
            return redirect("followup:support_new")
    return render(
        request,
        "scoring/followup/support_form.html",
        {
            "form": form,
            "recent": SupportEntry.objects.visible_to(request.user)
            .filter(recorded_by=request.user)
            .select_related("dealer")[:10],
        },
    )


@role_required(*support.RECORD_ROLES)
def support_import(request):
    return import_page(
        request,
        SupportImporter(user=request.user),
        title=_("Import support"),
        columns_help=_(
            "kind: advertising/广告支持, new_product/新品率先投放, promotion/强力促销, "
            "special_supply/特供品 or other/其他; value in yuan; note optional"
        ),
        done_url=reverse("followup:support"),
    )


def support_export(request):
    form = SupportFilterForm(request.GET or None, user=request.user)
    entries = form.apply(SupportEntry.objects.visible_to(request.user))
    if request.GET.get("format") == "report":
        kinds = dict(SupportKind.choices)
        return evalsys_reports.report_response(
            name=f"support-{timezone.localdate():%Y%m%d}",
            title=_("Support ledger"),
            columns=[
                evalsys_reports.Column(_("Dealer code")),
                evalsys_reports.Column(_("Dealer")),
                evalsys_reports.Column(_("Office")),
                evalsys_reports.Column(_("Date"), evalsys_reports.DATE),
                evalsys_reports.Column(_("Kind of support")),
                evalsys_reports.Column(_("Value (yuan)"), evalsys_reports.MONEY),
                evalsys_reports.Column(_("Note")),
                evalsys_reports.Column(_("Recorded by")),
            ],
            rows=(
                [
                    e.dealer.code,
                    e.dealer.name,
                    e.dealer.office.name,
                    e.date,
                    kinds.get(e.kind, e.kind),
                    e.value,
                    e.note,
                    display_name(e.recorded_by) if e.recorded_by else None,
                ]
                for e in entries.select_related("dealer__office", "recorded_by")
                .order_by("dealer__code", "date", "id")
                .iterator(chunk_size=2000)
            ),
        )
    return export_response(
        request,
        name=f"support-{timezone.localdate():%Y%m%d}",
        columns=support.LEDGER_COLUMNS,
        rows=support.ledger_rows(entries),
    )


def _report(request, quarter, key=None):
    rows = support.support_rows(quarter=quarter, user=request.user, key=key)
    return rows, rules.office_summaries(
        rows, support.a_without_support(quarter=quarter, user=request.user, key=key)
    )


def support_report(request):
    quarter = _quarter(request, _latest_graded)
    # read before the figures: the table cached under it is never older than the key says
    key = support.report_key(quarter=quarter, user=request.user)
    rows, summaries = _report(request, quarter, key)
    names = dict(Office.objects.visible_to(request.user).values_list("code", "name"))
    classes = ["A", "B", "C", ""]
    offices = []
    for code, summary in summaries.items():
        lines = []
        for cls in classes:
            found = summary.by_class.get(cls)
            if found is None and cls == "":
                continue
            found = found or {"count": 0, "value": 0, "kinds": {}}
            lines.append(
                {
                    "cls": cls,
                    "cells": [found["kinds"].get(kind) for kind in SupportKind.values],
                    "count": found["count"],
                    "value": found["value"],
                }
            )
        offices.append({"code": code, "name": names.get(code, code), "summary": summary, "lines": lines})
    chart = {
        "labels": [o["name"] for o in offices],
        "series": {
            c or "-": [float(o["summary"].by_class.get(c, {}).get("value", 0)) for o in offices]
            for c in classes
        },
    }
    return render(
        request,
        "scoring/followup/support_report.html",
        {
            "quarter": quarter,
            "offices": offices,
            "classes": classes,
            "kinds": SupportKind.choices,
            "chart": chart,
            # the table of every office rendered once per content (evalsys.fragments): the
            # key of the cached figures it shows where they are cached, else the figures
            "offices_digest": fragment_digest(key or offices),
            "c_dealers": support.supported_c_dealers(quarter=quarter, user=request.user, key=key),
            "a_dealers": support.unsupported_a_dealers(quarter=quarter, user=request.user, key=key),
            "quarters": QuarterGrading.objects.order_by("-quarter").values_list("quarter", flat=True)[:40],
            "show_office": sees_all_offices(request.user),
        },
    )


def support_report_export(request):
    """The quarter's support by class: the data file of DESIGN.md §6.2, or (`?format=report`)
    the Excel report for people, with the flagged dealers and a chart."""
    quarter = _quarter(request, _latest_graded)
    if request.GET.get("format") != "report":
        return export_response(
            request,
            name=f"support-{quarter}",
            columns=support.EXPORT_COLUMNS,
            rows=support.export_rows(quarter=quarter, user=request.user),
        )
    rows, summaries = _report(request, quarter)
    content = reports.support_report(
        quarter=quarter,
        rows=rows,
        summaries=summaries,
        office_names=dict(Office.objects.visible_to(request.user).values_list("code", "name")),
        c_dealers=support.supported_c_dealers(quarter=quarter, user=request.user, limit=None),
        a_dealers=support.unsupported_a_dealers(quarter=quarter, user=request.user, limit=None),
    )
    response = HttpResponse(content, content_type=evalsys_reports.XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="support-{quarter}-report.xlsx"'
    return response


# Watch list --------------------------------------------------------------------------------


def watch_list(request):
    form = WatchFilterForm(request.GET or None, user=request.user)
    entries = form.apply(WatchEntry.objects.visible_to(request.user))
    page, query = _page(
        request, entries.select_related("dealer__office").order_by("dealer__code", "-opened_quarter")
    )
    return render(
        request,
        "scoring/followup/watchlist.html",
        {
            "form": form,
            "page": page,
            "query": query,
            "show_office": sees_all_offices(request.user),
            "today": timezone.localdate(),
        },
    )


def watchlist_export(request):
    form = WatchFilterForm(request.GET or None, user=request.user)
    entries = form.apply(WatchEntry.objects.visible_to(request.user))
    if request.GET.get("format") == "report":
        return evalsys_reports.report_response(
            name=f"watchlist-{timezone.localdate():%Y%m%d}",
            title=_("Watch list"),
            columns=[
                evalsys_reports.Column(_("Dealer code")),
                evalsys_reports.Column(_("Dealer")),
                evalsys_reports.Column(_("Office")),
                evalsys_reports.Column(_("On the list since")),
                evalsys_reports.Column(_("Status")),
                evalsys_reports.Column(_("Closed at publication of")),
                evalsys_reports.Column(_("Problems")),
                evalsys_reports.Column(_("Actions")),
                evalsys_reports.Column(_("Owner")),
                evalsys_reports.Column(_("Plan due"), evalsys_reports.DATE),
                evalsys_reports.Column(_("Elimination proposal")),
                evalsys_reports.Column(_("Reason of the decision")),
            ],
            rows=(
                [
                    e.dealer.code,
                    e.dealer.name,
                    e.dealer.office.name,
                    e.opened_quarter,
                    e.get_status_display(),
                    e.closed_quarter,
                    e.problems,
                    e.actions,
                    e.owner,
                    e.plan_due,
                    e.get_proposal_display(),
                    e.proposal_reason,
                ]
                for e in entries.select_related("dealer__office")
                .order_by("dealer__code", "opened_quarter")
                .iterator(chunk_size=2000)
            ),
        )
    return export_response(
        request,
        name=f"watchlist-{timezone.localdate():%Y%m%d}",
        columns=watchlist.EXPORT_COLUMNS,
        rows=watchlist.export_rows(entries),
    )


def _entry_for(user, pk):
    return get_object_or_404(
        WatchEntry.objects.visible_to(user).select_related("dealer__office", "plan_updated_by", "decided_by"),
        pk=pk,
    )


def _entry_page(request, entry, *, plan_form=None, note_form=None, decision_form=None, status=200):
    can_plan = allowed(request.user, Role.OFFICE_MANAGER) and entry.status == WatchStatus.OPEN
    can_decide = allowed(request.user, Role.SALES_PLANNING) and entry.proposal == ProposalStatus.PENDING
    if can_plan and plan_form is None:
        plan_form = PlanForm(
            initial={
                "problems": entry.problems,
                "actions": entry.actions,
                "owner": entry.owner,
                "plan_due": entry.plan_due,
            }
        )
    grades = list(
        Grade.objects.filter(dealer=entry.dealer)
        .order_by("-quarter")
        .values_list("quarter", "final_class")[:8]
    )
    return render(
        request,
        "scoring/followup/watch_entry.html",
        {
            "entry": entry,
            "grades": grades,
            "notes": entry.notes.select_related("written_by"),
            "history": entry.history.select_related("history_user").order_by("-history_date")[:20],
            "plan_form": plan_form if can_plan else None,
            "note_form": (note_form or NoteForm()) if can_plan else None,
            "decision_form": (decision_form or DecisionForm()) if can_decide else None,
            "today": timezone.localdate(),
        },
        status=status,
    )


def watch_entry(request, pk):
    return _entry_page(request, _entry_for(request.user, pk))


def _entry_step(request, pk, *, form_class, form_name, act, done):
    """One POST step on a watch-list entry: validate, call the service, or show the page again
    with the form and its error, keeping what was typed."""
    entry = _entry_for(request.user, pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            act(entry, form.cleaned_data)
        except ScoringError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, done)
            return redirect(entry)
    return _entry_page(request, entry, **{form_name: form})


@role_required(Role.OFFICE_MANAGER)
@require_POST
def watch_plan(request, pk):
    return _entry_step(
        request,
        pk,
        form_class=PlanForm,
        form_name="plan_form",
        act=lambda entry, data: watchlist.save_plan(entry=entry, user=request.user, **data),
        done=_("The rectification plan was saved."),
    )


@role_required(Role.OFFICE_MANAGER)
@require_POST
def watch_note(request, pk):
    return _entry_step(
        request,
        pk,
        form_class=NoteForm,
        form_name="note_form",
        act=lambda entry, data: watchlist.add_note(entry=entry, user=request.user, **data),
        done=_("The progress note was added."),
    )


@role_required(Role.SALES_PLANNING)
@require_POST
def watch_decide(request, pk):
    return _entry_step(
        request,
        pk,
        form_class=DecisionForm,
        form_name="decision_form",
        act=lambda entry, data: watchlist.decide_proposal(
            entry=entry,
            accept=data["decision"] == ProposalStatus.ACCEPTED,
            reason=data["reason"],
            user=request.user,
        ),
        done=_("The decision was saved; the office has been told."),
    )


# Appeals -----------------------------------------------------------------------------------


def appeal_list(request):
    form = AppealFilterForm(request.GET or None)
    appeals = form.apply(Appeal.objects.visible_to(request.user))
    page, query = _page(request, appeals.select_related("dealer__office", "requested_by", "decided_by"))
    return render(
        request,
        "scoring/followup/appeal_list.html",
        {"form": form, "page": page, "query": query, "show_office": sees_all_offices(request.user)},
    )


@role_required(Role.OFFICE_MANAGER)
def appeal_create(request, grade):
    grade = get_object_or_404(
        Grade.objects.visible_to(request.user).select_related("dealer", "office"), pk=grade
    )
    form = AppealForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            appeal = appeal_service.request_review(grade=grade, user=request.user, **form.cleaned_data)
        except ScoringError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The appeal was sent to sales planning."))
            return redirect(appeal)
    return render(
        request,
        "scoring/followup/appeal_form.html",
        {"form": form, "grade": grade},
    )


def _appeal_for(user, pk):
    return get_object_or_404(
        Appeal.objects.visible_to(user).select_related("dealer__office", "requested_by", "decided_by"), pk=pk
    )


def _appeal_page(request, appeal, *, form=None, status=200):
    can_decide = allowed(request.user, Role.SALES_PLANNING) and appeal.status == AppealStatus.OPEN
    grade = Grade.objects.filter(dealer=appeal.dealer, quarter=appeal.quarter).first()
    return render(
        request,
        "scoring/followup/appeal_detail.html",
        {
            "appeal": appeal,
            "grade": grade,
            "form": (form or AppealDecisionForm()) if can_decide else None,
        },
        status=status,
    )


def appeal_detail(request, pk):
    return _appeal_page(request, _appeal_for(request.user, pk))


@role_required(Role.SALES_PLANNING)
@require_POST
def appeal_decide(request, pk):
    appeal = _appeal_for(request.user, pk)
    form = AppealDecisionForm(request.POST)
    if form.is_valid():
        try:
            appeal_service.decide(appeal=appeal, user=request.user, **form.cleaned_data)
        except ScoringError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The appeal was decided; the office manager has been told."))
            return redirect(appeal)
    return _appeal_page(request, appeal, form=form)
