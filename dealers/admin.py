from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources
from import_export.admin import ExportMixin
from import_export.widgets import ForeignKeyWidget
from simple_history.admin import SimpleHistoryAdmin

from evalsys.imports_view import import_page
from evalsys.tabular import formula_safe

from .freeze import FrozenPeriod, published_quarter_for
from .imports import DealerImporter, OfficeImporter
from .models import (
    AnnualAgreement,
    Dealer,
    DealerMove,
    MonthlySales,
    MonthlyTarget,
    Notification,
    Office,
    PointsEntry,
    PointsTier,
    QuarterNote,
    ReminderLog,
    StaffProfile,
    TargetVersion,
)
from .moves import last_moves, move_problems, published_problem, record_moves
from .roles import Role, office_id_of, sees_all_offices
from .staff import PRIVILEGE_FIELDS, guard_privileges, may_grant
from .targets.points import adjust_points, affected_months, save_points_tier, tier_set_after
from .targets.rules import tiers_problems


class ScopedAdmin(SimpleHistoryAdmin):
    """Admin pages narrowed by `visible_to`, like every other view (DESIGN.md §1)."""

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model in (Office, Dealer):
            kwargs["queryset"] = db_field.related_model.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _require_visible(self, request, object_id):
        # simple_history's views fall back to the history table, which is not scoped.
        if not self.get_queryset(request).filter(pk=unquote(object_id)).exists():
            raise Http404

    def history_view(self, request, object_id, extra_context=None):
        self._require_visible(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._require_visible(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)


class FormulaSafeResource(resources.ModelResource):
    """Admin exports escape spreadsheet formulas like the project's own (DESIGN.md §6.2)."""

    def export_field(self, field, instance, **kwargs):
        return formula_safe(super().export_field(field, instance, **kwargs))


class ProjectImportAdmin(ExportMixin, ScopedAdmin):
    """Exports through django-import-export (its formats, formulas escaped); imports through the
    project's own importer and import page (upload, preview, confirm), as in the browser."""

    importer_class = None
    import_export_change_list_template = "admin/evalsys/change_list_import_export.html"

    def get_export_queryset(self, request):
        return self.get_queryset(request)

    def has_import_permission(self, request):
        # An admin import may touch any office, so only company-wide users may run one.
        return sees_all_offices(request.user) and self.has_change_permission(request)

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_import"
        return [path("import/", self.admin_site.admin_view(self.import_view), name=name), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "has_import_permission": self.has_import_permission(request),
        }
        return super().changelist_view(request, extra_context)

    def import_view(self, request):
        if not self.has_import_permission(request):
            raise PermissionDenied
        importer = self.importer_class(user=request.user)
        return import_page(
            request,
            importer,
            title=importer.title,
            columns_help="",
            done_url=reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"),
        )


class OfficeResource(FormulaSafeResource):
    class Meta:
        model = Office
        import_id_fields = ["code"]
        fields = ["code", "name", "region"]


class DealerResource(FormulaSafeResource):
    office = fields.Field("office", "office", ForeignKeyWidget(Office, "code"))

    class Meta:
        model = Dealer
        import_id_fields = ["code"]
        fields = [
            "code",
            "name",
            "kind",
            "office",
            "tier",
            "joined",
            "status",
            "churned_on",
            "contact",
            "phone",
            "region",
        ]

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        self._move = None
        before = Dealer.objects.filter(pk=instance.pk).values_list("office_id", flat=True).first()
        if instance.pk and before is not None and before != instance.office_id:
            # A changed office is a move as of today, recorded like the project's own import's.
            today = timezone.localdate()
            problems = move_problems(
                moved_on=today,
                joined=instance.joined,
                last_move=last_moves([instance.pk]).get(instance.pk),
                today=today,
            )
            if problems:
                errors.setdefault("office", []).extend(problems)
            self._move = (before, today)
        super().validate_instance(instance, errors, validate_unique)

    def after_save_instance(self, instance, row, **kwargs):
        if getattr(self, "_move", None):
            from_office_id, moved_on = self._move
            record_moves(moves=[(instance, from_office_id, moved_on)], user=kwargs.get("user"))
            self._move = None


class DealerAdminForm(forms.ModelForm):
    moved_on = forms.DateField(
        label=_("moved on"),
        required=False,
        help_text=_("When the office changes: the first day in the new office (today when empty)."),
    )

    class Meta:
        model = Dealer
        fields = [
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

    def clean(self):
        cleaned = super().clean()
        office, joined = cleaned.get("office"), cleaned.get("joined")
        if (
            self.instance.pk
            and office is not None
            and joined is not None
            and office.pk != self.instance.office_id
        ):
            today = timezone.localdate()
            moved_on = cleaned.get("moved_on") or today
            problems = move_problems(
                moved_on=moved_on,
                joined=joined,
                last_move=last_moves([self.instance.pk]).get(self.instance.pk),
                today=today,
            )
            if not problems and (frozen := published_problem(moved_on, today)):
                problems.append(frozen)
            if problems:
                raise ValidationError({"moved_on": problems})
            cleaned["moved_on"] = moved_on
        return cleaned


class DealerMoveInline(admin.TabularInline):
    """The dealer's moves, read-only: a move is recorded by changing the office."""

    model = DealerMove
    fk_name = "dealer"
    fields = ["moved_on", "from_office", "to_office", "created_by", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Office)
class OfficeAdmin(ProjectImportAdmin):
    resource_classes = [OfficeResource]
    importer_class = OfficeImporter
    list_display = ["code", "name", "region"]
    search_fields = ["code", "name"]


@admin.register(Dealer)
class DealerAdmin(ProjectImportAdmin):
    resource_classes = [DealerResource]
    importer_class = DealerImporter
    list_display = ["code", "name", "kind", "office", "tier", "status", "joined"]
    list_filter = ["kind", "status", "office"]
    search_fields = ["code", "name"]
    list_select_related = ["office"]
    raw_id_fields = ["business_manager"]
    form = DealerAdminForm
    inlines = [DealerMoveInline]

    def save_model(self, request, obj, form, change):
        # A changed office is recorded as a move (DESIGN.md §3.4), through the same service as imports.
        from_office_id = form.initial.get("office") if change else None
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if change and "office" in form.changed_data:
                record_moves(moves=[(obj, from_office_id, form.cleaned_data["moved_on"])], user=request.user)


class StaffProfileResource(FormulaSafeResource):
    username = fields.Field("user__username", "username", readonly=True)
    name = fields.Field("user__first_name", "name", readonly=True)
    email = fields.Field("user__email", "email", readonly=True)
    office = fields.Field("office", "office", ForeignKeyWidget(Office, "code"), readonly=True)
    roles = fields.Field(column_name="roles", readonly=True)

    class Meta:
        model = StaffProfile
        fields = ["username", "name", "email", "office", "roles"]

    def dehydrate_roles(self, profile):
        return " ".join(sorted(group.name for group in profile.user.groups.all()))


@admin.register(StaffProfile)
class StaffProfileAdmin(ExportMixin, ScopedAdmin):
    resource_classes = [StaffProfileResource]
    list_display = ["user", "user_full_name", "office", "roles"]
    list_select_related = ["user", "office"]
    list_filter = ["office"]
    search_fields = ["user__username", "user__first_name"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("user__groups")

    def get_export_queryset(self, request):
        return self.get_queryset(request)

    @admin.display(description=_("name"))
    def user_full_name(self, profile):
        return profile.user.get_full_name()

    @admin.display(description=_("roles"))
    def roles(self, profile):
        labels = dict(Role.choices)
        return ", ".join(str(labels.get(group.name, group.name)) for group in profile.user.groups.all())


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False
    verbose_name_plural = _("office")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Office:
            kwargs["queryset"] = Office.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    """Users with their office; roles are the user's groups. Office staff see their office's users.

    Only a superuser grants roles, permissions, staff or superuser status, and nobody changes his
    own (nor his own office): those fields are read-only, and `guard_privileges` re-checks what was
    saved. Only a superuser changes a superuser.
    """

    inlines = [StaffProfileInline]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if sees_all_offices(request.user):
            return queryset
        return queryset.filter(staff_profile__office_id=office_id_of(request.user))

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not may_grant(request.user, obj):
            fields += [f for f in PRIVILEGE_FIELDS if f not in fields]
        return fields

    def get_inlines(self, request, obj):
        return [] if obj is not None and obj.pk == request.user.pk else super().get_inlines(request, obj)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and (
            obj.pk == request.user.pk or (obj.is_superuser and not request.user.is_superuser)
        ):
            return False
        return super().has_delete_permission(request, obj)

    def save_related(self, request, form, formsets, change):
        with guard_privileges(actor=request.user, user=form.instance):
            super().save_related(request, form, formsets, change)


admin.site.unregister(Group)


@admin.register(Group)
class RoleGroupAdmin(GroupAdmin):
    """A role's permissions are granted by superusers only."""

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(AnnualAgreement)
class AnnualAgreementAdmin(ScopedAdmin):
    list_display = ["dealer", "year", "signed_on", "annual_target"]
    list_select_related = ["dealer"]
    search_fields = ["dealer__code", "dealer__name"]
    raw_id_fields = ["dealer"]


class ReadOnlyAdmin(ScopedAdmin):
    """Figures changed only through their services (negotiation, correction, imports), which
    check closed months and published quarters and recompute points: the admin shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MonthlyTarget)
class MonthlyTargetAdmin(ReadOnlyAdmin):
    list_display = ["dealer", "month", "status", "agreed_amount", "timeliness"]
    list_select_related = ["dealer"]
    list_filter = ["status", "timeliness"]
    search_fields = ["dealer__code"]


@admin.register(MonthlySales)
class MonthlySalesAdmin(ReadOnlyAdmin):
    list_display = ["dealer", "month", "amount"]
    list_select_related = ["dealer"]
    search_fields = ["dealer__code"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "title", "created_at", "read_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "title"]
    raw_id_fields = ["user"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(user=request.user)


admin.site.site_header = _("Dealer evaluation system")
admin.site.site_title = _("Dealer evaluation system")


class PointsTierForm(forms.ModelForm):
    class Meta:
        model = PointsTier
        fields = ["effective_from", "threshold", "rate"]

    def clean_effective_from(self):
        return self.cleaned_data["effective_from"].replace(day=1)

    def clean(self):
        cleaned = super().clean()
        start, threshold, rate = (cleaned.get(name) for name in ("effective_from", "threshold", "rate"))
        if start is None or threshold is None or rate is None:
            return cleaned
        previous = PointsTier.objects.filter(pk=self.instance.pk).first() if self.instance.pk else None
        candidate = PointsTier(pk=self.instance.pk, effective_from=start, threshold=threshold, rate=rate)
        messages = {
            "negative rate": _("A rate cannot be negative."),
            "negative threshold": _("An attainment threshold cannot be negative."),
            "duplicate threshold": _("Another tier already starts at this attainment."),
            "rate falls as attainment rises": _(
                "Tiers must be ordered: a higher attainment threshold cannot have a lower rate."
            ),
        }
        problems = tiers_problems(tier_set_after(candidate, previous=previous))
        if PointsTier.objects.filter(effective_from=start, threshold=threshold).exclude(pk=self.instance.pk):
            problems.append("duplicate threshold")
        if problems:
            raise forms.ValidationError([messages[p] for p in dict.fromkeys(problems)])
        quarter = published_quarter_for(affected_months(candidate, previous=previous))
        if quarter:
            raise forms.ValidationError(
                _("%(frozen)s These tiers would change its points: make them effective from a later month.")
                % {"frozen": FrozenPeriod(quarter)}
            )
        return cleaned


@admin.register(PointsTier)
class PointsTierAdmin(SimpleHistoryAdmin):
    """Tiers by the month they are effective from; saving one recomputes the months it changes.

    Nothing is deleted here: a deleted tier would silently change the months it covered.
    """

    form = PointsTierForm
    list_display = ["effective_from", "threshold", "rate"]
    list_filter = ["effective_from"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        save_points_tier(tier=obj, user=request.user)


class PointsAdjustmentForm(forms.ModelForm):
    class Meta:
        model = PointsEntry
        fields = ["dealer", "month", "points", "reason"]

    def clean_month(self):
        month = self.cleaned_data["month"].replace(day=1)
        quarter = published_quarter_for([month])
        if quarter:
            raise forms.ValidationError(str(FrozenPeriod(quarter)))
        return month

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("A points adjustment needs a reason."))
        return reason


@admin.register(PointsEntry)
class PointsEntryAdmin(ScopedAdmin):
    """The ledger: adjustments are added here with a reason; no entry is edited or deleted."""

    form = PointsAdjustmentForm
    list_display = ["dealer", "month", "kind", "points", "reason", "created_by", "created_at"]
    list_filter = ["kind", "month"]
    list_select_related = ["dealer", "created_by"]
    search_fields = ["dealer__code", "dealer__name", "reason"]
    raw_id_fields = ["dealer"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # the form has checked the month; a quarter published meanwhile is refused by the service
        entry = adjust_points(
            dealer=obj.dealer, month=obj.month, points=obj.points, reason=obj.reason, user=request.user
        )
        obj.pk, obj.kind, obj.created_by, obj.created_at = (
            entry.pk,
            entry.kind,
            entry.created_by,
            entry.created_at,
        )

    def history_view(self, request, object_id, extra_context=None):
        # The ledger keeps no simple-history: each entry records its own author and time.
        return admin.ModelAdmin.history_view(self, request, object_id, extra_context)


@admin.register(QuarterNote)
class QuarterNoteAdmin(ScopedAdmin):
    list_display = ["dealer", "quarter", "updated_by", "updated_at"]
    list_select_related = ["dealer", "updated_by"]
    search_fields = ["dealer__code", "dealer__name"]
    list_filter = ["quarter"]
    raw_id_fields = ["dealer"]
    readonly_fields = ["updated_by"]

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(TargetVersion)
class TargetVersionAdmin(ScopedAdmin):
    list_display = [
        "target",
        "version",
        "step",
        "amount",
        "timeliness",
        "reason",
        "recorded_by",
        "recorded_at",
    ]
    list_select_related = ["target__dealer", "recorded_by"]
    list_filter = ["step", "timeliness"]
    search_fields = ["target__dealer__code"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def history_view(self, request, object_id, extra_context=None):
        return admin.ModelAdmin.history_view(self, request, object_id, extra_context)


@admin.register(ReminderLog)
class ReminderLogAdmin(admin.ModelAdmin):
    list_display = ["user", "month", "kind", "audience", "dealer_count", "sent_at"]
    list_filter = ["kind", "audience", "month"]

    def get_queryset(self, request):
        # Office staff see the reminders of their own office's people only (DESIGN.md §1).
        queryset = super().get_queryset(request)
        if sees_all_offices(request.user):
            return queryset
        office_id = office_id_of(request.user)
        return queryset.filter(user__staff_profile__office_id=office_id) if office_id else queryset.none()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
