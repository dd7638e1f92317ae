from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from dealers.admin import ScopedAdmin
from evalsys.periods import Quarter

from . import services
from .models import (
    ClassBenefit,
    ClassificationPolicy,
    EvaluationRound,
    Grade,
    GradingStatus,
    Indicator,
    IndicatorWeight,
    QuarterGrading,
    QuarterReopening,
    RoundReopening,
    WeightScheme,
)


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "for_exclusive", "for_logistics", "method", "missing_rule", "position"]
    list_editable = ["name", "missing_rule"]


class WeightFormSet(forms.BaseInlineFormSet):
    """Weights of a scheme: positive, for indicators of the scheme's kind, summing to exactly 100."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        total = Decimal(0)
        kind = self.instance.kind
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            weight = form.cleaned_data["weight"]
            indicator = form.cleaned_data["indicator"]
            if weight <= 0:
                raise ValidationError(
                    _("Every weight must be positive (%(indicator)s).") % {"indicator": indicator}
                )
            if kind and not indicator.applies_to(kind):
                raise ValidationError(
                    _("%(indicator)s does not apply to this dealer kind.") % {"indicator": indicator}
                )
            total += weight
        if total != 100:
            raise ValidationError(
                _("The weights add up to %(total)s; they must add up to exactly 100.") % {"total": total}
            )


class WeightInline(admin.TabularInline):
    model = IndicatorWeight
    formset = WeightFormSet
    extra = 0


@admin.register(WeightScheme)
class WeightSchemeAdmin(SimpleHistoryAdmin):
    list_display = ["kind", "effective_from", "note"]
    list_filter = ["kind"]
    inlines = [WeightInline]


@admin.register(ClassificationPolicy)
class ClassificationPolicyAdmin(SimpleHistoryAdmin):
    list_display = ["effective_from", "method", "band_a", "band_b", "quota_a", "quota_b"]


@admin.register(ClassBenefit)
class ClassBenefitAdmin(SimpleHistoryAdmin):
    list_display = ["grade_class", "description"]


class ReopeningInline(admin.TabularInline):
    model = RoundReopening
    extra = 0
    readonly_fields = ["by", "at", "reason", "previous_status"]
    can_delete = False


@admin.register(EvaluationRound)
class EvaluationRoundAdmin(ScopedAdmin):
    """Rounds change status only through the workflow's steps (DESIGN.md §3.3): read-only here."""

    list_display = ["office", "quarter", "status", "meeting_date", "chair"]
    list_filter = ["quarter", "status"]
    inlines = [ReopeningInline]
    readonly_fields = ["office", "quarter", "status", "submitted_at", "approved_at", "approved_by"]
    raw_id_fields = ["chair"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Grade)
class GradeAdmin(ScopedAdmin):
    list_display = ["quarter", "dealer", "office", "kind", "total", "computed_class", "final_class", "change"]
    list_filter = ["quarter", "kind", "final_class", "change", "overridden", "evaluated"]
    search_fields = ["dealer__code", "dealer__name"]
    raw_id_fields = ["dealer", "overridden_by"]
    list_select_related = ["dealer", "office"]

    def has_change_permission(self, request, obj=None):
        return False


class QuarterReopeningInline(admin.TabularInline):
    model = QuarterReopening
    extra = 0
    readonly_fields = ["by", "at", "reason"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ReopenReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )


@admin.register(QuarterGrading)
class QuarterGradingAdmin(SimpleHistoryAdmin):
    """Gradings change only through the jobs, publishing and the reopen action below."""

    list_display = ["quarter", "status", "graded_at", "published_at", "published_by"]
    readonly_fields = [
        "quarter",
        "status",
        "offices_total",
        "offices_done",
        "started_at",
        "progress_at",
        "graded_at",
        "published_at",
        "published_by",
        "error",
    ]
    exclude = ["distribution"]
    inlines = [QuarterReopeningInline]
    actions = ["reopen_published"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=gettext_lazy("Reopen published quarters (asks for the reason)"))
    def reopen_published(self, request, queryset):
        """An intermediate page asks for the reason; only an administrator may reopen."""
        if not request.user.is_superuser:
            messages.error(request, _("Only an administrator can reopen a published quarter."))
            return None
        form = ReopenReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            count = 0
            for grading in queryset.filter(status=GradingStatus.PUBLISHED):
                services.reopen_published_quarter(
                    quarter=Quarter.parse(grading.quarter),
                    reason=form.cleaned_data["reason"],
                    user=request.user,
                )
                count += 1
            messages.success(request, _("%(count)s quarters reopened for re-grading.") % {"count": count})
            return None
        return TemplateResponse(
            request,
            "admin/scoring/reopen_published.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Reopen published quarters"),
                "gradings": queryset,
                "form": form,
                "opts": self.model._meta,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )
