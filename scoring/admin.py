from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from dealers.admin import ScopedAdmin

from .models import (
    ClassBenefit,
    ClassificationPolicy,
    EvaluationRound,
    Grade,
    GradingStatus,
    Indicator,
    IndicatorWeight,
    QuarterGrading,
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
    list_display = ["office", "quarter", "status", "meeting_date", "chair"]
    list_filter = ["quarter", "status"]
    inlines = [ReopeningInline]
    raw_id_fields = ["chair", "approved_by"]


@admin.register(Grade)
class GradeAdmin(ScopedAdmin):
    list_display = ["quarter", "dealer", "office", "kind", "total", "computed_class", "final_class", "change"]
    list_filter = ["quarter", "kind", "final_class", "change", "overridden", "evaluated"]
    search_fields = ["dealer__code", "dealer__name"]
    raw_id_fields = ["dealer", "overridden_by"]
    list_select_related = ["dealer", "office"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(QuarterGrading)
class QuarterGradingAdmin(SimpleHistoryAdmin):
    list_display = ["quarter", "status", "graded_at", "published_at", "published_by"]
    readonly_fields = [
        "offices_total",
        "offices_done",
        "started_at",
        "graded_at",
        "published_at",
        "published_by",
    ]
    actions = ["reopen_published"]

    @admin.action(description=gettext_lazy("Reopen published quarters (reason: the change message)"))
    def reopen_published(self, request, queryset):
        count = 0
        for grading in queryset.filter(status=GradingStatus.PUBLISHED):
            grading.status = GradingStatus.GRADED
            grading._change_reason = _("Reopened by %(user)s") % {"user": request.user}
            grading._history_user = request.user
            grading.save()
            count += 1
        messages.success(request, _("%(count)s quarters reopened for re-grading.") % {"count": count})


from .followup import admin as followup_admin  # noqa: E402, F401  (registers the follow-through's admins)
