from django.contrib import admin
from django.contrib.auth import get_user_model
from import_export import fields
from import_export.widgets import ForeignKeyWidget

from dealers.admin import FormulaSafeResource, ProjectImportAdmin, ScopedAdmin
from dealers.models import Dealer

from .imports import VisitImporter
from .models import ChurnReport, NetworkSummary, OfficeAudit, Visit


class VisitResource(FormulaSafeResource):
    dealer = fields.Field("dealer", "dealer", ForeignKeyWidget(Dealer, "code"))
    visitor = fields.Field("visitor", "visitor", ForeignKeyWidget(get_user_model(), "username"))

    class Meta:
        model = Visit
        fields = ["id", "dealer", "date", "visitor", "purpose", "effect", "findings", "follow_up"]


@admin.register(Visit)
class VisitAdmin(ProjectImportAdmin):
    resource_classes = [VisitResource]
    importer_class = VisitImporter
    list_display = ["date", "dealer", "visitor", "purpose", "effect"]
    list_select_related = ["dealer", "visitor"]
    list_filter = ["effect", "dealer__office"]
    search_fields = ["dealer__code", "dealer__name", "visitor__username", "purpose"]
    raw_id_fields = ["dealer", "visitor"]
    date_hierarchy = "date"


@admin.register(ChurnReport)
class ChurnReportAdmin(ScopedAdmin):
    list_display = ["dealer", "reason", "last_sales_month", "reported_at", "verification"]
    list_select_related = ["dealer"]
    list_filter = ["reason", "verification", "dealer__office"]
    search_fields = ["dealer__code", "dealer__name"]
    raw_id_fields = ["dealer", "reported_by", "verified_by"]


@admin.register(OfficeAudit)
class OfficeAuditAdmin(ScopedAdmin):
    list_display = ["office", "quarter", "score", "audited_by", "audited_at"]
    list_select_related = ["office", "audited_by"]
    list_filter = ["quarter", "office"]
    raw_id_fields = ["audited_by"]


@admin.register(NetworkSummary)
class NetworkSummaryAdmin(ScopedAdmin):
    list_display = ["office", "quarter", "status", "submitted_at", "commented_at"]
    list_select_related = ["office"]
    list_filter = ["quarter", "status", "office"]
    raw_id_fields = ["submitted_by", "commented_by"]
