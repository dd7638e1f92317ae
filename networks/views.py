from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dealers.access import get_dealer_for_user, role_required
from dealers.models import Dealer, Office
from dealers.roles import Role, allowed, has_role, office_id_of, sees_all_offices
from evalsys import reports
from evalsys.fragments import fragment_digest
from evalsys.imports_view import import_page
from evalsys.pagination import paginate
from evalsys.periods import Quarter, parse_quarter_input, period_error
from evalsys.tabular import export_response

from . import rules, selectors, services
from .forms import (
    PURPOSE_SUGGESTIONS,
    AuditForm,
    ChurnReportForm,
    CommentForm,
    SummaryForm,
    VerificationForm,
    VisitFilterForm,
    VisitForm,
)
from .imports import VisitImporter
from .labels import METRIC_LABELS, METRIC_REPORT_KINDS, churn_rows, metric_rows
from .models import ChurnReason, ChurnReport, NetworkSummary, OfficeAudit, SummaryStatus, Verification, Visit
from .rules import METRIC_NAMES

VISIT_ROLES = (Role.BUSINESS_MANAGER, Role.OFFICE_MANAGER)
CHURN_ROLES = (Role.OFFICE_MANAGER, Role.BUSINESS_MANAGER)
COMPANY_ROLES = (Role.MARKETING_VP, Role.SALES_PLANNING)
VISIT_IMPORT_ROLES = (Role.OFFICE_MANAGER, Role.STATISTICIAN, Role.SALES_PLANNING)


def _quarter(request, default: Quarter) -> Quarter:
    """`?quarter=2026Q3`, or `default` when absent; a malformed or out-of-range one is said and ignored."""
    text = request.GET.get("quarter", "")
    if not text:
        return default
    try:
        return parse_quarter_input(text)
    except ValueError:
        messages.error(request, period_error(text, quarter=True))
        return default


def _current_quarter() -> Quarter:
    return Quarter.containing(timezone.localdate())


def _last_ended_quarter() -> Quarter:
    """Metric pages open on the last quarter that has ended: a running quarter's figures are not final."""
    return _current_quarter().previous()


def _office(request):
    """The office a page is about: the user's own, or `?office=CODE` for those who see all."""
    offices = Office.objects.visible_to(request.user)
    code = request.GET.get("office")
    if code:
        return get_object_or_404(offices, code=code)
    if not sees_all_offices(request.user):
        return get_object_or_404(offices, pk=office_id_of(request.user))
    office = offices.order_by("code").first()
    if office is None:
        raise Http404
    return office


def _quarter_choices(selected: Quarter) -> list[Quarter]:
    return selectors.recent_quarters(max(selected, _current_quarter()), 12)[::-1]


# Visits ----------------------------------------------------------------------


@role_required(*VISIT_ROLES)
def visit_create(request):
    dealers = selectors.visit_dealers(request.user).in_network_on(timezone.localdate())
    initial = {}
    if request.GET.get("dealer"):
        initial["dealer"] = dealers.filter(code=request.GET["dealer"]).first()
    form = VisitForm(request.POST or None, dealers=dealers, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            visit = services.log_visit(visitor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Visit to %(dealer)s on %(date)s saved.") % {"dealer": visit.dealer, "date": visit.date},
            )
            return redirect("networks:visit_create")
    return render(
        request, "networks/visit_form.html", {"form": form, "purposes": [str(p) for p in PURPOSE_SUGGESTIONS]}
    )


def visit_list(request):
    """Visits the user may see; a business manager starts on his own, everyone can filter and jump pages."""
    offices = Office.objects.visible_to(request.user)
    visitors = (
        get_user_model()
        .objects.filter(staff_profile__office__in=offices, groups__name=Role.BUSINESS_MANAGER)
        .distinct()
        .order_by("username")
    )
    form = VisitFilterForm(
        request.GET,
        user=request.user,
        offices=offices,
        visitors=visitors,
        default_who="mine"
        if has_role(request.user, Role.BUSINESS_MANAGER) or request.GET.get("mine") == "1"
        else "all",
    )
    visits = form.apply(Visit.objects.visible_to(request.user).select_related("dealer", "visitor"))
    paged = paginate(request, visits, per_page=50)
    who_query = QueryDict(paged.query, mutable=True)
    who_query.pop("who", None)
    return render(
        request,
        "networks/visit_list.html",
        {
            "page": paged.page,
            "form": form,
            "query": paged.query,
            "who_query": who_query.urlencode(),
            "mine": form.chosen_who() == "mine",
            "show_office": sees_all_offices(request.user),
            "can_log": allowed(request.user, *VISIT_ROLES),
            "can_import_visits": allowed(request.user, *VISIT_IMPORT_ROLES),
        },
    )


@role_required(*VISIT_IMPORT_ROLES)
def visit_import(request):
    return import_page(
        request,
        VisitImporter(user=request.user),
        title=_("Import visits"),
        columns_help=_("visitor: the username of the business manager; effect: 1 to 5"),
        done_url=reverse("networks:visits"),
    )


def not_visited(request):
    office = _office(request)
    today = timezone.localdate()
    dealers = Dealer.objects.visible_to(request.user).filter(office=office)
    only_mine = has_role(request.user, Role.BUSINESS_MANAGER) and request.GET.get("all") != "1"
    if only_mine:
        dealers = dealers.filter(business_manager=request.user)
    late = list(selectors.not_visited(dealers=dealers, today=today))
    totals = dict(
        dealers.in_network_on(today).values_list("business_manager").annotate(n=Count("pk")).order_by()
    )
    groups = selectors.by_business_manager(late)
    for group in groups:
        group["total"] = totals.get(group["manager"].pk if group["manager"] else None, 0)
    return render(
        request,
        "networks/not_visited.html",
        {
            "office": office,
            "groups": groups,
            "late_count": len(late),
            "total": sum(totals.values()),
            "days": selectors.NOT_VISITED_DAYS,
            "only_mine": only_mine,
            "is_business_manager": has_role(request.user, Role.BUSINESS_MANAGER),
            "offices": Office.objects.visible_to(request.user) if sees_all_offices(request.user) else None,
        },
    )


# Churn -----------------------------------------------------------------------


@role_required(*CHURN_ROLES)
def churn_create(request, code):
    dealer = get_dealer_for_user(request.user, code, selectors.visit_dealers(request.user))
    report = ChurnReport.objects.filter(dealer=dealer).first()
    if report and report.verification != Verification.PENDING:
        messages.info(request, _("This churn report has been verified and cannot be changed."))
        return redirect(report)
    initial = {}
    if report:
        initial = {
            "reason": report.reason,
            "narrative": report.narrative,
            "last_sales_month": report.last_sales_month,
        }
    form = ChurnReportForm(request.POST or None, dealer=dealer, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            report = services.report_churn(dealer=dealer, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Churn report of %(dealer)s saved.") % {"dealer": dealer})
            return redirect(report)
    return render(request, "networks/churn_form.html", {"form": form, "dealer": dealer, "report": report})


def churn_list(request):
    reports = ChurnReport.objects.visible_to(request.user).select_related(
        "dealer__office", "reported_by", "verified_by"
    )
    status = request.GET.get("verification")
    if status in Verification.values:
        reports = reports.filter(verification=status)
    paged = paginate(request, reports, per_page=50)
    return render(
        request,
        "networks/churn_list.html",
        {
            "page": paged.page,
            "query": paged.query,
            "status": status,
            "verifications": Verification.choices,
            "without_report": selectors.churned_without_report(request.user)[:200],
            "can_report": allowed(request.user, *CHURN_ROLES),
        },
    )


def suspected_churn(request):
    """Dealers in the network with no sales rows for the last two complete months, per office."""
    today = timezone.localdate()
    offices = Office.objects.visible_to(request.user).order_by("code")
    dealers = Dealer.objects.visible_to(request.user)
    counts = selectors.suspected_churn_counts(dealers, today=today)
    office = None
    if request.GET.get("office"):
        office = get_object_or_404(offices, code=request.GET["office"])
        dealers = dealers.filter(office=office)
    suspected = selectors.suspected_churn(dealers, today=today).select_related("office", "business_manager")
    paged = paginate(request, suspected, per_page=50)
    return render(
        request,
        "networks/suspected_churn.html",
        {
            "page": paged.page,
            "query": paged.query,
            "office": office,
            "offices": [(o, counts.get(o.pk, 0)) for o in offices],
            "total": sum(counts.values()),
            "months": rules.last_complete_months(today),
            "reports_any": allowed(request.user, Role.OFFICE_MANAGER),
            "reports_own": has_role(request.user, Role.BUSINESS_MANAGER),
        },
    )


@require_http_methods(["GET", "POST"])
def churn_report(request, pk):
    report = get_object_or_404(
        ChurnReport.objects.visible_to(request.user).select_related(
            "dealer__office", "reported_by", "verified_by"
        ),
        pk=pk,
    )
    can_verify = allowed(request.user, Role.SALES_PLANNING)
    form = None
    if can_verify:
        initial = {
            "verification": report.verification if report.verification != Verification.PENDING else None,
            "comment": report.verification_comment,
            "countermeasures": report.countermeasures,
        }
        form = VerificationForm(request.POST or None, initial=initial)
    elif request.method == "POST":
        raise Http404
    if request.method == "POST" and form.is_valid():
        try:
            services.verify_churn_report(report=report, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Verification saved."))
            return redirect(report)
    history = report.history.select_related("history_user").order_by("-history_date")[:20]
    return render(
        request,
        "networks/churn_report.html",
        {
            "report": report,
            "form": form,
            "history": history,
            "can_edit": report.verification == Verification.PENDING and allowed(request.user, *CHURN_ROLES),
        },
    )


# Metrics ---------------------------------------------------------------------


def _chart_series(quarters, metrics_by_quarter):
    def series(name):
        return [
            float(v) if (v := getattr(metrics_by_quarter[q], name)) is not None else None for q in quarters
        ]

    return {
        "labels": [str(q) for q in quarters],
        **{name: series(name) for name in METRIC_NAMES},
    }


def office_metrics(request):
    office = _office(request)
    quarter = _quarter(request, _last_ended_quarter())
    quarters = selectors.recent_quarters(quarter, 8)
    by_quarter = {q: services.compute_metrics(quarter=q, office_ids=[office.pk])[office.pk] for q in quarters}
    metrics = by_quarter[quarter]
    dealers = {d.code: d for d in Dealer.objects.filter(code__in=metrics.key_customers).only("code", "name")}
    key_customers = [
        (dealers[code], sales)
        for code, sales in zip(metrics.key_customers, metrics.key_customer_sales, strict=True)
    ]
    churn = churn_rows(services.churn_lists(office_ids=[office.pk], quarter=quarter).get(office.pk, []))
    return render(
        request,
        "networks/office_metrics.html",
        {
            "office": office,
            "quarter": quarter,
            "quarters": _quarter_choices(quarter),
            "metrics": metrics,
            "rows": metric_rows(lambda name: getattr(metrics, name)),
            "chart": _chart_series(quarters, by_quarter),
            "key_customers": key_customers,
            "churn": churn,
            "offices": Office.objects.visible_to(request.user) if sees_all_offices(request.user) else None,
        },
    )


@role_required(*COMPANY_ROLES)
def company_metrics(request):
    quarter = _quarter(request, _last_ended_quarter())
    offices = list(Office.objects.visible_to(request.user).order_by("code"))
    metrics = services.compute_metrics(quarter=quarter, office_ids=[o.pk for o in offices])
    reasons = selectors.churn_reasons_by_office(quarter=quarter, office_ids=[o.pk for o in offices])
    audits = {
        a.office_id: a
        for a in OfficeAudit.objects.filter(office__in=offices, quarter=str(quarter)).only(
            "office_id", "score", "pk"
        )
    }
    summaries = dict(
        NetworkSummary.objects.filter(office__in=offices, quarter=str(quarter)).values_list(
            "office_id", "status"
        )
    )
    rows = []
    for office in offices:
        office_reasons = reasons.get(office.pk, {"reasons": {}, "verification": {}})
        rows.append(
            {
                "office": office,
                "metrics": metrics[office.pk],
                "reasons": [
                    (ChurnReason(reason).label, n) for reason, n in sorted(office_reasons["reasons"].items())
                ],
                "verification": {
                    status: office_reasons["verification"].get(status, 0) for status in Verification.values
                },
                "no_report": metrics[office.pk].churned - sum(office_reasons["verification"].values()),
                "audit": audits.get(office.pk),
                "summary_status": summaries.get(office.pk),
            }
        )
    chart = {
        "labels": [o.name for o in offices],
        "growth_qoq": [_float(metrics[o.pk].growth_qoq) for o in offices],
        "growth_yoy": [_float(metrics[o.pk].growth_yoy) for o in offices],
        "key_growth_qoq": [_float(metrics[o.pk].key_growth_qoq) for o in offices],
        "visit_coverage": [_float(metrics[o.pk].visit_coverage) for o in offices],
    }
    return render(
        request,
        "networks/company_metrics.html",
        {
            "quarter": quarter,
            "quarters": _quarter_choices(quarter),
            "rows": rows,
            "chart": chart,
            "summary_statuses": dict(SummaryStatus.choices),
            # the table's rows rendered once per content (evalsys.fragments)
            "rows_digest": fragment_digest(rows, quarter, dict(SummaryStatus.choices)),
        },
    )


def metrics_export(request):
    quarter = _quarter(request, _last_ended_quarter())
    offices = Office.objects.visible_to(request.user)
    columns, rows = services.metrics_table(quarter=quarter, offices=offices)
    if request.GET.get("format") == "report":
        names = dict(offices.values_list("code", "name"))
        return reports.report_response(
            name=f"network-metrics-{quarter}",
            title=_("Network metrics %(quarter)s") % {"quarter": quarter},
            columns=[
                reports.Column(_("Quarter")),
                reports.Column(_("Office")),
                *(reports.Column(METRIC_LABELS[n], METRIC_REPORT_KINDS[n]) for n in METRIC_NAMES),
            ],
            rows=([quarter, names[office], *values] for quarter, office, *values in rows),
        )
    return export_response(request, name=f"network-metrics-{quarter}", columns=columns, rows=rows)


def _float(value):
    return float(value) if value is not None else None


# Audits ----------------------------------------------------------------------


def audit_list(request):
    quarter = _quarter(request, _current_quarter().previous())
    offices = list(Office.objects.visible_to(request.user).order_by("code"))
    audits = list(
        OfficeAudit.objects.visible_to(request.user)
        .filter(quarter=str(quarter))
        .select_related("office", "audited_by")
        .order_by("-score", "office__code")
    )
    audited = {a.office_id for a in audits}
    return render(
        request,
        "networks/audit_list.html",
        {
            "quarter": quarter,
            "quarters": _quarter_choices(quarter),
            "audits": audits,
            "unaudited": [o for o in offices if o.pk not in audited],
            "can_audit": allowed(request.user, *COMPANY_ROLES),
        },
    )


@role_required(*COMPANY_ROLES)
def audit_create(request):
    office = _office(request)
    quarter = _quarter(request, _current_quarter().previous())
    existing = OfficeAudit.objects.filter(office=office, quarter=str(quarter)).first()
    initial = {}
    if existing:
        initial = {
            name: getattr(existing, name)
            for name in (
                "customer_growth_rating",
                "key_customer_growth_rating",
                "maintenance_rating",
                "findings",
            )
        }
    form = AuditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            audit = services.record_audit(
                office=office, quarter=quarter, by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Audit of %(office)s saved.") % {"office": office})
            return redirect(audit)
    metrics = services.compute_metrics(quarter=quarter, office_ids=[office.pk])[office.pk]
    return render(
        request,
        "networks/audit_form.html",
        {
            "form": form,
            "office": office,
            "quarter": quarter,
            "quarters": _quarter_choices(quarter),
            "rows": metric_rows(lambda name: getattr(metrics, name)),
            "existing": existing,
            "offices": Office.objects.visible_to(request.user),
        },
    )


def audit_detail(request, pk):
    audit = get_object_or_404(
        OfficeAudit.objects.visible_to(request.user).select_related("office", "audited_by"), pk=pk
    )
    rows = metric_rows(audit.metrics.get)
    return render(
        request,
        "networks/audit_detail.html",
        {
            "audit": audit,
            "rows": rows,
            "can_audit": allowed(request.user, *COMPANY_ROLES),
        },
    )


# Summaries -------------------------------------------------------------------


def summary_list(request):
    quarter = _quarter(request, _current_quarter().previous())
    offices = list(Office.objects.visible_to(request.user).order_by("code"))
    summaries = {
        s.office_id: s
        for s in NetworkSummary.objects.visible_to(request.user)
        .filter(quarter=str(quarter))
        .select_related("submitted_by")
    }
    return render(
        request,
        "networks/summary_list.html",
        {
            "quarter": quarter,
            "quarters": _quarter_choices(quarter),
            "rows": [(office, summaries.get(office.pk)) for office in offices],
        },
    )


@require_http_methods(["GET", "POST"])
def summary(request, office, quarter):
    office = get_object_or_404(Office.objects.visible_to(request.user), code=office)
    try:
        quarter = parse_quarter_input(quarter)
    except ValueError:
        raise Http404 from None
    if quarter > _current_quarter():
        raise Http404
    summary = services.summary_for(office=office, quarter=quarter)
    can_write = summary.status == SummaryStatus.DRAFT and (
        request.user.is_superuser
        or (has_role(request.user, Role.OFFICE_MANAGER) and office_id_of(request.user) == office.pk)
    )
    can_comment = summary.status == SummaryStatus.SUBMITTED and (allowed(request.user, Role.SALES_PLANNING))
    form = comment_form = None
    if can_write:
        form = SummaryForm(
            request.POST or None,
            initial={
                "analysis": summary.analysis,
                "problems": summary.problems,
                "next_steps": summary.next_steps,
            },
        )
    if can_comment:
        comment_form = CommentForm(request.POST or None, initial={"comment": summary.planning_comment})
    if request.method == "POST":
        active = form or comment_form
        if active is None:
            raise Http404
        if active.is_valid():
            try:
                if form is not None:
                    submit = "submit" in request.POST
                    services.save_summary(
                        summary=summary, submit=submit, by=request.user, **form.cleaned_data
                    )
                    message = _("Summary submitted to sales planning.") if submit else _("Draft saved.")
                else:
                    services.comment_summary(summary=summary, by=request.user, **comment_form.cleaned_data)
                    message = _("Comment saved.")
            except ValidationError as error:
                active.add_error(None, error)
            else:
                messages.success(request, message)
                return redirect("networks:summary", office.code, str(quarter))
    churn = churn_rows(summary.churn_list)
    return render(
        request,
        "networks/summary.html",
        {
            "summary": summary,
            "office": office,
            "quarter": quarter,
            "rows": metric_rows(summary.metrics.get),
            "churn": churn,
            "form": form,
            "comment_form": comment_form,
        },
    )
