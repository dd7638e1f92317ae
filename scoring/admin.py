from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from dealers.admin import ScopedAdmin
from dealers.models import DealerKind
from evalsys.periods import Quarter

from . import services
from .insight.whatif import graded_quarters
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

    def get_queryset(self, request):
        # Each row is captioned with its indicator's name: read them with the weights.
        return super().get_queryset(request).select_related("indicator")

    def get_extra(self, request, obj=None, **kwargs):
        """A new scheme starts with a row for each weight of the scheme in force (see get_formset_kwargs)."""
        if obj is None and request.method == "GET":
            return len(_weights_in_force(_kind_asked(request)))
        return 0


def _kind_asked(request) -> str:
    kind = request.GET.get("kind", "")
    return kind if kind in DealerKind.values else DealerKind.EXCLUSIVE


def _weights_in_force(kind: str) -> list[dict]:
    """The weights of `kind`'s scheme in force this quarter (else its latest), as inline initial data."""
    current = str(Quarter.containing(timezone.localdate()))
    schemes = WeightScheme.objects.filter(kind=kind)
    scheme = (
        schemes.filter(effective_from__lte=current).first() or schemes.order_by("-effective_from").first()
    )
    if scheme is None:
        return []
    return [
        {"indicator": w.indicator_id, "weight": w.weight}
        for w in scheme.weights.order_by("indicator__position")
    ]


@admin.register(WeightScheme)
class WeightSchemeAdmin(SimpleHistoryAdmin):
    list_display = ["kind", "effective_from", "note"]
    list_filter = ["kind"]
    inlines = [WeightInline]
    # the running total, the copy of the scheme in force and the what-if button (static/js/admin_weights.js)
    change_form_template = "admin/scoring/weightscheme/change_form.html"
    change_list_template = "admin/scoring/whatif_change_list.html"

    class Media:
        js = ["js/admin_weights.js"]

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("kind", _kind_asked(request))
        initial.setdefault("effective_from", str(Quarter.containing(timezone.localdate()).next()))
        return initial

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if obj.pk is None and request.method == "GET" and isinstance(inline, WeightInline):
            kwargs["initial"] = _weights_in_force(_kind_asked(request))
        return kwargs

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "indicator_codes": dict(Indicator.objects.values_list("pk", "code")),
            "whatif_quarter": next(iter(graded_quarters()), ""),
        }
        return super().changeform_view(request, object_id, form_url, extra_context)


@admin.register(ClassificationPolicy)
class ClassificationPolicyAdmin(SimpleHistoryAdmin):
    list_display = ["effective_from", "method", "band_a", "band_b", "quota_a", "quota_b"]
    change_form_template = "admin/scoring/classificationpolicy/change_form.html"
    change_list_template = "admin/scoring/whatif_change_list.html"


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
    exclude = ["distribution", "movements", "calibration"]
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


from .followup import admin as followup_admin  # noqa: E402, F401  (registers the follow-through's admins)
