"""Admin of the follow-through: the watch-list rule is edited here; ledger, watch list and appeals
are shown read-only, as their changes go through the services (the pages record who and why)."""

from django.contrib import admin

from dealers.admin import ScopedAdmin

from .models import Appeal, SupportEntry, WatchEntry, WatchRule


@admin.register(WatchRule)
class WatchRuleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "grade_class", "quarters"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not WatchRule.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyScopedAdmin(ScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SupportEntry)
class SupportEntryAdmin(ReadOnlyScopedAdmin):
    list_display = ["date", "dealer", "kind", "value", "recorded_by"]
    list_filter = ["kind", "dealer__office"]
    search_fields = ["dealer__code", "dealer__name", "note"]
    date_hierarchy = "date"
    list_select_related = ["dealer", "recorded_by"]


@admin.register(WatchEntry)
class WatchEntryAdmin(ReadOnlyScopedAdmin):
    list_display = ["dealer", "opened_quarter", "status", "closed_quarter", "plan_due", "proposal"]
    list_filter = ["status", "proposal", "opened_quarter"]
    search_fields = ["dealer__code", "dealer__name"]
    list_select_related = ["dealer"]


@admin.register(Appeal)
class AppealAdmin(ReadOnlyScopedAdmin):
    list_display = ["dealer", "quarter", "computed_class", "requested_class", "status", "decided_class"]
    list_filter = ["status", "quarter"]
    search_fields = ["dealer__code", "dealer__name"]
    list_select_related = ["dealer"]
