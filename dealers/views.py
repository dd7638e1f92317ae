from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from evalsys import reports
from evalsys.imports_view import import_page
from evalsys.pagination import paginate
from evalsys.tabular import export_response

from .access import get_dealer_for_user, role_required
from .filters import DealerFilterForm
from .imports import DealerImporter
from .models import Dealer, Notification, Office
from .plugins import customer_file_sections, dashboard_panels
from .roles import IMPORT_ROLES, Role, office_id_of, roles_of, sees_all_offices


def _render_panels(functions, *args):
    panels = []
    for function in functions:
        panel = function(*args)
        if panel:
            panels.append(panel)
    return panels


def dashboard(request):
    roles = roles_of(request.user)
    return render(
        request,
        "dealers/dashboard.html",
        {
            "office": Office.objects.filter(pk=office_id_of(request.user)).first(),
            "role_labels": [label for value, label in Role.choices if value in roles],
            "panels": _render_panels(dashboard_panels, request),
        },
    )


def dealer_list(request):
    form = DealerFilterForm(request.GET or None, user=request.user)
    dealers = form.apply(Dealer.objects.visible_to(request.user).select_related("office", "business_manager"))
    paged = paginate(request, dealers, per_page=50)
    return render(
        request,
        "dealers/dealer_list.html",
        {
            "form": form,
            "page": paged.page,
            "query": paged.query,
            "sort_query": paged.sort_query,
            "sort": request.GET.get("sort", "code"),
            "show_office": sees_all_offices(request.user),
        },
    )


EXPORT_COLUMNS = [
    "code",
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


def dealer_export(request):
    form = DealerFilterForm(request.GET or None, user=request.user)
    dealers = form.apply(Dealer.objects.visible_to(request.user).select_related("office", "business_manager"))
    if request.GET.get("format") == "report":
        return reports.report_response(
            name=f"dealers-{timezone.localdate():%Y%m%d}",
            title=_("Dealers"),
            columns=_dealer_report_columns(),
            rows=_dealer_report_rows(dealers),
        )
    rows = (
        [
            d.code,
            d.name,
            d.kind,
            d.office.code,
            d.tier,
            d.business_manager.username if d.business_manager else None,
            d.joined,
            d.status,
            d.churned_on,
            d.contact,
            d.phone,
            d.region,
        ]
        for d in dealers.iterator(chunk_size=2000)
    )
    return export_response(
        request, name=f"dealers-{timezone.localdate():%Y%m%d}", columns=EXPORT_COLUMNS, rows=rows
    )


def _dealer_report_columns():
    return [
        reports.Column(_("Dealer code")),
        reports.Column(_("Dealer")),
        reports.Column(_("Kind")),
        reports.Column(_("Office")),
        reports.Column(_("Tier")),
        reports.Column(_("Business manager")),
        reports.Column(_("Joined"), reports.DATE),
        reports.Column(_("Status")),
        reports.Column(_("Churned on"), reports.DATE),
        reports.Column(_("Contact")),
        reports.Column(_("Phone")),
        reports.Column(_("Region")),
    ]


def _dealer_report_rows(dealers):
    """The dealer list for people: kinds and statuses in words, office and business manager by name."""
    for d in dealers.iterator(chunk_size=2000):
        manager = d.business_manager
        yield [
            d.code,
            d.name,
            d.get_kind_display(),
            d.office.name,
            d.tier,
            (manager.get_full_name() or manager.username) if manager else None,
            d.joined,
            d.get_status_display(),
            d.churned_on,
            d.contact,
            d.phone,
            d.region,
        ]


def customer_file(request, code):
    dealer = get_dealer_for_user(
        request.user, code, Dealer.objects.select_related("office", "business_manager")
    )
    return render(
        request,
        "dealers/customer_file.html",
        {"dealer": dealer, "sections": _render_panels(customer_file_sections, request, dealer)},
    )


@role_required(*IMPORT_ROLES)
def dealer_import(request):
    return import_page(
        request,
        DealerImporter(user=request.user),
        title=_("Import dealers"),
        columns_help=_(
            "kind: exclusive/专营 or logistics/物流; status: active/正常, suspended/暂停, churned/流失"
        ),
        done_url=reverse("dealers:list"),
    )


def notification_list(request):
    notifications = Notification.objects.filter(user=request.user)
    return render(
        request, "dealers/notifications.html", {"page": paginate(request, notifications, per_page=30).page}
    )


@require_POST
def notification_open(request, pk):
    notification = get_object_or_404(Notification, pk=pk, user=request.user)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    if notification.url and url_has_allowed_host_and_scheme(
        notification.url, allowed_hosts={request.get_host()}
    ):
        return redirect(notification.url)
    return redirect("dealers:notifications")


@require_POST
def notifications_read_all(request):
    Notification.objects.filter(user=request.user, read_at__isnull=True).update(read_at=timezone.now())
    return redirect("dealers:notifications")


@login_not_required
def healthz(request):
    return HttpResponse("ok", content_type="text/plain")
