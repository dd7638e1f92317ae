"""Pages for monthly targets, actual sales and points (DESIGN.md §4)."""

import datetime
import re

from django import forms
from django.contrib import messages
from django.db.models import Q
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from evalsys import reports
from evalsys.imports_view import import_page
from evalsys.pagination import paginate
from evalsys.periods import (
    Quarter,
    add_months,
    format_month,
    parse_month_input,
    parse_quarter_input,
    period_error,
)
from evalsys.tabular import export_response

from ..access import get_dealer_for_user, role_required
from ..freeze import FrozenPeriod, published_quarter_for
from ..models import Dealer, Office, TargetStep
from ..roles import IMPORT_ROLES, Role, allowed, sees_all_offices
from .imports import AgreementImporter, SalesImporter, TargetImporter
from .rules import month_closed, target_deadline
from .services import (
    AGREEMENT_IMPORT_ROLES,
    MISSING_SALES_ROLES,
    NOTE_ROLES,
    POINTS_EXPORT_COLUMNS,
    TARGET_READER_ROLES,
    TARGET_ROLES,
    TargetError,
    attainment_rows,
    attainment_totals,
    can_write_notes,
    correct_target,
    deadline_day,
    dealers_missing_sales,
    negotiable_dealers,
    negotiation_rows,
    points_export_rows,
    record_target_step,
    save_quarter_note,
    sort_attainment,
    target_reader_dealers,
    with_month_figures,
)

PAGE_SIZE = 100


def _month_param(request, default: datetime.date) -> datetime.date:
    try:
        return parse_month_input(request.GET["month"]) if request.GET.get("month") else default
    except ValueError:
        messages.error(request, period_error(request.GET["month"]))
        return default


def _office_filter(request, dealers):
    """For those who see every office: narrow `dealers` to the office chosen in ?office=CODE.

    Returns (dealers, context for `_month_form.html`, the query string part).
    """
    if not sees_all_offices(request.user):
        return dealers, {}, ""
    offices = list(Office.objects.order_by("code"))
    code = request.GET.get("office", "")
    if code not in {o.code for o in offices}:
        code = ""
    if code:
        dealers = dealers.filter(office__code=code)
    return dealers, {"offices": offices, "office": code}, (f"&office={code}" if code else "")


def _next_month() -> datetime.date:
    return add_months(timezone.localdate().replace(day=1), 1)


class TargetStepForm(forms.Form):
    step = forms.ChoiceField(
        choices=[(s, s) for s in (TargetStep.PROPOSED, TargetStep.COUNTERED, TargetStep.AGREED)]
    )
    amount = forms.DecimalField(
        label=gettext_lazy("Amount"), min_value=0, max_digits=14, decimal_places=2, localize=False
    )
    version = forms.IntegerField(min_value=0)


class TargetCorrectionForm(forms.Form):
    amount = forms.DecimalField(
        label=gettext_lazy("Amount"), min_value=0, max_digits=14, decimal_places=2, localize=False
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)
    version = forms.IntegerField(min_value=0)


def _back_query(request, month: datetime.date) -> str:
    """The targets page's month, office and page the form was sent from (only those, and only if well-formed)."""
    sent = QueryDict(request.POST.get("back", ""))
    query = QueryDict(mutable=True)
    query["month"] = format_month(month)
    if re.fullmatch(r"[\w-]{1,20}", sent.get("office", "")):
        query["office"] = sent["office"]
    if sent.get("page", "").isdigit():
        query["page"] = sent["page"]
    return query.urlencode()


@role_required(*TARGET_READER_ROLES)
def next_month_targets(request):
    """The month's negotiation; the marketing VP, who reads everything, sees it without its forms.

    A month that has begun is closed: shown read-only, with the correction form for sales
    planning only; a month of a published quarter is frozen for everyone.
    """
    month = _month_param(request, _next_month())
    frozen = published_quarter_for([month])
    closed = month_closed(month, timezone.localdate())
    negotiates = allowed(request.user, *TARGET_ROLES)
    dealers = (negotiable_dealers if negotiates else target_reader_dealers)(request.user)
    dealers = dealers.select_related("office", "business_manager").order_by("code")
    dealers, office_context, office_query = _office_filter(request, dealers)
    page = paginate(request, dealers, per_page=PAGE_SIZE).page
    deadline = target_deadline(month, deadline_day())
    return render(
        request,
        "dealers/targets/next_month.html",
        {
            "month": month,
            "month_label": format_month(month),
            "previous_labels": [format_month(add_months(month, -n)) for n in (3, 2, 1)],
            "year_before_label": format_month(add_months(month, -12)),
            "deadline": deadline,
            "days_left": (deadline - timezone.localdate()).days,
            "rows": negotiation_rows(list(page.object_list), month),
            "page": page,
            "query": f"month={format_month(month)}{office_query}",
            "show_office": sees_all_offices(request.user),
            "steps": TargetStep,
            "read_only": not negotiates or closed or bool(frozen),
            "closed": closed,
            "frozen": frozen,
            "corrects": closed and not frozen and allowed(request.user, Role.SALES_PLANNING),
            **office_context,
        },
    )


def _target_post(request, code, month, *, form_class, not_saved, save, saved, entered):
    """What target_step and target_correction share: the month from the URL (404 when it cannot
    be read), the dealer among those the user negotiates (404 otherwise), the form, the service,
    one message, and back to the dealer's row of the negotiation page.

    `not_saved` is the message for an invalid form (with %(dealer)s); `save(dealer, month, data)`
    calls the service; `saved(dealer, month, data)` is the success message; `entered(amount)`
    writes the amount the user typed into a refusal."""
    try:
        month = parse_month_input(month)
    except ValueError:
        raise Http404 from None
    # negotiable_dealers is already narrowed by visible_to; an empty one must stay empty.
    dealer = get_object_or_404(negotiable_dealers(request.user), code=code)
    back = reverse("targets:next_month") + f"?{_back_query(request, month)}#dealer-{dealer.code}"
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, not_saved % {"dealer": dealer})
        return redirect(back)
    data = form.cleaned_data
    try:
        save(dealer, month, data)
    except (TargetError, FrozenPeriod) as exc:
        messages.error(
            request,
            _("%(message)s (You entered %(amount)s.)") % {"message": exc, "amount": entered(data["amount"])},
        )
        return redirect(back)
    messages.success(request, saved(dealer, month, data))
    return redirect(back)


def _grouped(amount):
    return number_format(amount, 2, force_grouping=True)


@require_POST
@role_required(*TARGET_ROLES)
def target_step(request, code, month):
    return _target_post(
        request,
        code,
        month,
        form_class=TargetStepForm,
        not_saved=_("%(dealer)s: not saved, please enter an amount like 120000.00."),
        save=lambda dealer, month, data: record_target_step(
            dealer=dealer,
            month=month,
            step=data["step"],
            amount=data["amount"],
            user=request.user,
            expected_version=data["version"],
        ),
        saved=lambda dealer, month, data: (
            _("%(dealer)s, %(month)s: %(step)s %(amount)s saved.")
            % {
                "dealer": dealer,
                "month": format_month(month),
                "step": TargetStep(data["step"]).label,
                "amount": _grouped(data["amount"]),
            }
        ),
        entered=_grouped,
    )


@require_POST
@role_required(Role.SALES_PLANNING)
def target_correction(request, code, month):
    """Sales planning corrects the agreed target of a month that has begun, with a reason."""
    return _target_post(
        request,
        code,
        month,
        form_class=TargetCorrectionForm,
        not_saved=_(
            "%(dealer)s: not corrected; enter an amount like 120000.00 and the reason for the correction."
        ),
        save=lambda dealer, month, data: correct_target(
            dealer=dealer,
            month=month,
            amount=data["amount"],
            reason=data["reason"],
            user=request.user,
            expected_version=data["version"],
        ),
        saved=lambda dealer, month, data: (
            _("%(dealer)s, %(month)s: target corrected to %(amount)s.")
            % {"dealer": dealer, "month": format_month(month), "amount": data["amount"]}
        ),
        entered=str,
    )


@role_required(*TARGET_READER_ROLES)
def attainment_page(request):
    """The month's attainment per dealer: search, sort by any figure, totals over all pages, bands chart.

    It opens on the last complete month: the running month has no sales figures yet.
    """
    month = _month_param(request, add_months(timezone.localdate().replace(day=1), -1))
    dealers = target_reader_dealers(request.user).select_related("office")
    dealers, office_context, office_query = _office_filter(request, dealers)
    search = request.GET.get("q", "").strip()[:100]
    if search:
        dealers = dealers.filter(Q(code__icontains=search) | Q(name__icontains=search))
    dealers = with_month_figures(dealers, month)
    totals = attainment_totals(dealers)
    sort = request.GET.get("sort", "code")
    # counted with the totals: no second COUNT query
    page = paginate(request, sort_attainment(dealers, sort), per_page=PAGE_SIZE, count=totals["dealers"]).page
    base = f"month={format_month(month)}{office_query}" + (f"&{urlencode({'q': search})}" if search else "")
    return render(
        request,
        "dealers/targets/attainment.html",
        {
            "month": month,
            "month_label": format_month(month),
            "quarter": Quarter.containing(month),
            "rows": attainment_rows(list(page.object_list), month),
            "page": page,
            "query": f"{base}&sort={sort}",
            "sort_query": base,
            "sort": sort,
            "search": search,
            "totals": totals,
            "bands": list(zip(_band_labels(), totals["bands"], strict=True)),
            "show_office": sees_all_offices(request.user),
            **office_context,
        },
    )


def _band_labels():
    """The labels of services.ATTAINMENT_BANDS, in the user's language."""
    return [_("below 80%"), _("80–100%"), _("100–120%"), _("120% and more")]


@role_required(*IMPORT_ROLES)
def sales_import(request):
    return import_page(
        request,
        SalesImporter(user=request.user),
        title=_("Import monthly sales"),
        columns_help=_(
            "month like 2026-09; a month imported again replaces its figures and recomputes its points."
        ),
        done_url=_imported_month_url,
    )


def _imported_month_url(result) -> str:
    """The missing-sales page of the latest month the confirmed sales file held."""
    months = [row.values["month"] for row in result.rows if row.values.get("month")]
    url = reverse("targets:missing_sales")
    return f"{url}?month={format_month(max(months))}" if months else url


@role_required(*AGREEMENT_IMPORT_ROLES)
def agreement_import(request):
    return import_page(
        request,
        AgreementImporter(user=request.user),
        title=_("Import annual agreements"),
        columns_help=_("signed like 2026-01-15; a dealer and year already known is updated."),
        done_url=reverse("targets:next_month"),
    )


@role_required(*AGREEMENT_IMPORT_ROLES)
def target_import(request):
    return import_page(
        request,
        TargetImporter(user=request.user),
        title=_("Import agreed monthly targets"),
        columns_help=_(
            "month like 2026-09; months without an annual agreement are refused. agreed_on (optional) like "
            "2026-08-20: the day the target was agreed, which makes it on time or late; without it the "
            "target is marked imported."
        ),
        done_url=reverse("targets:next_month"),
    )


@role_required(*MISSING_SALES_ROLES)
def missing_sales(request):
    month = _month_param(request, add_months(timezone.localdate().replace(day=1), -1))
    dealers = (
        dealers_missing_sales(request.user, month)
        .select_related("office", "business_manager")
        .order_by("code")
    )
    page = paginate(request, dealers, per_page=PAGE_SIZE).page
    return render(
        request,
        "dealers/targets/missing_sales.html",
        {
            "month": month,
            "month_label": format_month(month),
            "page": page,
            "query": f"month={format_month(month)}",
            "show_office": sees_all_offices(request.user),
        },
    )


@role_required(*IMPORT_ROLES, *TARGET_ROLES, Role.MARKETING_VP)
def points_export(request):
    month = _month_param(request, add_months(timezone.localdate().replace(day=1), -1))
    rows = points_export_rows(month=month, dealers=Dealer.objects.visible_to(request.user))
    if request.GET.get("format") == "report":
        return reports.report_response(
            name=f"points-{format_month(month)}",
            title=_("Points %(month)s") % {"month": format_month(month)},
            columns=_points_report_columns(),
            rows=_points_report_rows(rows),
        )
    return export_response(
        request, name=f"points-{format_month(month)}", columns=POINTS_EXPORT_COLUMNS, rows=rows
    )


def _points_report_columns():
    return [
        reports.Column(_("Month")),
        reports.Column(_("Dealer code")),
        reports.Column(_("Dealer")),
        reports.Column(_("Office")),
        reports.Column(_("Target"), reports.MONEY),
        reports.Column(_("Actual sales"), reports.MONEY),
        reports.Column(_("Attainment"), reports.PERCENT),
        reports.Column(_("Points earned"), reports.DECIMAL),
        reports.Column(_("Points balance"), reports.DECIMAL),
    ]


def _points_report_rows(rows):
    """The points export's rows with office names instead of codes."""
    offices = dict(Office.objects.values_list("code", "name"))
    for month, code, name, office, *figures in rows:
        yield [month, code, name, offices.get(office, office), *figures]


class QuarterNoteForm(forms.Form):
    potential = forms.CharField(
        label=gettext_lazy("Potential"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    obstacles = forms.CharField(
        label=gettext_lazy("Obstacles"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    capability = forms.CharField(
        label=gettext_lazy("Capability"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    effort = forms.CharField(
        label=gettext_lazy("Effort"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


@require_POST
@role_required(*NOTE_ROLES)
def quarter_note(request, code, quarter):
    try:
        quarter = parse_quarter_input(quarter)
    except ValueError:
        raise Http404 from None
    dealer = get_dealer_for_user(request.user, code)
    if not can_write_notes(request.user, dealer):
        raise Http404
    form = QuarterNoteForm(request.POST)
    if form.is_valid():
        save_quarter_note(dealer=dealer, quarter=quarter, user=request.user, **form.cleaned_data)
        messages.success(request, _("Notes for %(quarter)s saved.") % {"quarter": quarter})
    return redirect(dealer.get_absolute_url() + "#quarter-notes")
