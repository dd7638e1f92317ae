import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from evalsys.periods import MonthField, QuarterField

from .roles import office_id_of, sees_all_offices


class ScopedQuerySet(models.QuerySet):
    """Office scoping (DESIGN.md §1) for every model that belongs to an office.

    `office_field` is the lookup path from the model to its office id. Every
    view, export and admin narrows its queryset with `visible_to(user)`.
    """

    office_field = "office"

    def visible_to(self, user):
        if sees_all_offices(user):
            return self
        office_id = office_id_of(user)
        if office_id is None:
            return self.none()
        return self.filter(**{f"{self.office_field}_id": office_id})


class OfficeQuerySet(ScopedQuerySet):
    def visible_to(self, user):
        if sees_all_offices(user):
            return self
        return self.filter(pk=office_id_of(user))


class Office(models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    region = models.CharField(_("region"), max_length=100, blank=True)

    objects = OfficeQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("office")
        verbose_name_plural = _("offices")

    def __str__(self):
        return f"{self.code} {self.name}"


class DealerKind(models.TextChoices):
    EXCLUSIVE = "exclusive", _("Exclusive dealer")
    LOGISTICS = "logistics", _("Logistics distributor")


class DealerStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    CHURNED = "churned", _("Churned")


class DealerQuerySet(ScopedQuerySet):
    def in_network_on(self, day: datetime.date):
        """Dealers in the network on `day` (DESIGN.md §5); suspended ones count."""
        return self.filter(in_network_q(day))


def in_network_q(day: datetime.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}joined__lte": day}) & (
        Q(**{f"{prefix}churned_on__isnull": True}) | Q(**{f"{prefix}churned_on__gt": day})
    )


class Dealer(models.Model):
    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=DealerKind.choices)
    office = models.ForeignKey(
        Office, on_delete=models.PROTECT, related_name="dealers", verbose_name=_("office")
    )
    tier = models.CharField(_("tier"), max_length=30, blank=True)
    business_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_dealers",
        verbose_name=_("business manager"),
    )
    joined = models.DateField(_("joined"))
    status = models.CharField(
        _("status"), max_length=20, choices=DealerStatus.choices, default=DealerStatus.ACTIVE
    )
    churned_on = models.DateField(_("churned on"), null=True, blank=True)
    contact = models.CharField(_("contact"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)

    objects = DealerQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("dealer")
        verbose_name_plural = _("dealers")
        indexes = [models.Index(fields=["office", "kind", "code"]), models.Index(fields=["status"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="churned") | Q(churned_on__isnull=False),
                name="churned_dealer_has_churn_date",
            )
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    def get_absolute_url(self):
        return reverse("dealers:customer_file", args=[self.code])


class StaffProfile(models.Model):
    """A user's membership of an office; roles are the user's groups."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="staff_profile",
        verbose_name=_("user"),
    )
    office = models.ForeignKey(
        Office,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("office"),
    )

    objects = ScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("staff membership")
        verbose_name_plural = _("staff memberships")

    def __str__(self):
        return f"{self.user.get_username()} @ {self.office or '-'}"


class DealerScopedQuerySet(ScopedQuerySet):
    office_field = "dealer__office"


class DealerMove(models.Model):
    """A dealer's change of office: it belongs to `to_office` from `moved_on` on (inclusive).

    A dealer's office on day D is the `from_office` of its earliest move after D,
    or its current office when it has none (`dealers.selectors.office_on_expression`).
    Dealers that never moved have no rows.
    """

    dealer = models.ForeignKey(
        Dealer, on_delete=models.CASCADE, related_name="moves", verbose_name=_("dealer")
    )
    from_office = models.ForeignKey(
        Office, on_delete=models.PROTECT, related_name="+", verbose_name=_("from office")
    )
    to_office = models.ForeignKey(
        Office, on_delete=models.PROTECT, related_name="+", verbose_name=_("to office")
    )
    moved_on = models.DateField(_("moved on"))
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )

    objects = DealerScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["dealer__code", "moved_on", "id"]
        verbose_name = _("dealer move")
        verbose_name_plural = _("dealer moves")
        indexes = [models.Index(fields=["dealer", "moved_on"])]

    def __str__(self):
        return f"{self.dealer_id} {self.moved_on}"


class AnnualAgreement(models.Model):
    dealer = models.ForeignKey(
        Dealer, on_delete=models.CASCADE, related_name="agreements", verbose_name=_("dealer")
    )
    year = models.PositiveSmallIntegerField(_("year"))
    signed_on = models.DateField(_("signed"))
    annual_target = models.DecimalField(_("annual target"), max_digits=14, decimal_places=2)

    objects = DealerScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["dealer__code", "year"]
        verbose_name = _("annual agreement")
        verbose_name_plural = _("annual agreements")
        constraints = [
            models.UniqueConstraint(fields=["dealer", "year"], name="one_agreement_per_dealer_year")
        ]

    def __str__(self):
        return f"{self.dealer.code} {self.year}"


class TargetStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PROPOSED = "proposed", _("Proposed")
    AGREED = "agreed", _("Agreed")


class Timeliness(models.TextChoices):
    """When an agreed target was agreed (DESIGN.md §4): by the deadline day of the month
    before, after it, or unknown because it was imported without its date."""

    ON_TIME = "on_time", _("On time")
    LATE = "late", _("Late")
    IMPORTED = "imported", _("Imported")


class MonthlyTarget(models.Model):
    """One dealer's sales target for one month; `month` is the month's first day."""

    dealer = models.ForeignKey(
        Dealer, on_delete=models.CASCADE, related_name="targets", verbose_name=_("dealer")
    )
    month = MonthField(_("month"))
    status = models.CharField(
        _("status"), max_length=20, choices=TargetStatus.choices, default=TargetStatus.DRAFT
    )
    proposed_amount = models.DecimalField(
        _("proposed"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    counter_amount = models.DecimalField(
        _("counter-proposal"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    agreed_amount = models.DecimalField(
        _("agreed target"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    agreed_at = models.DateTimeField(_("agreed at"), null=True, blank=True)
    agreed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # empty until agreed
    timeliness = models.CharField(_("timeliness"), max_length=10, choices=Timeliness.choices, blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = DealerScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["dealer__code", "month"]
        verbose_name = _("monthly target")
        verbose_name_plural = _("monthly targets")
        constraints = [
            models.UniqueConstraint(fields=["dealer", "month"], name="one_target_per_dealer_month")
        ]
        indexes = [models.Index(fields=["month", "status"])]

    def __str__(self):
        return f"{self.dealer.code} {self.month:%Y-%m}"


class MonthlySales(models.Model):
    """A dealer's actual sales for one month, as imported by the statistician."""

    # Read by dealer through the unique (dealer, month) index: no index of its own, which
    # would slow every row of a 100,000-row import.
    dealer = models.ForeignKey(
        Dealer, on_delete=models.CASCADE, related_name="sales", verbose_name=_("dealer"), db_index=False
    )
    month = MonthField(_("month"))
    amount = models.DecimalField(_("sales amount"), max_digits=14, decimal_places=2)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DealerScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["dealer__code", "month"]
        verbose_name = _("monthly sales")
        verbose_name_plural = _("monthly sales")
        constraints = [
            models.UniqueConstraint(fields=["dealer", "month"], name="one_sales_row_per_dealer_month")
        ]
        indexes = [models.Index(fields=["month", "dealer"])]

    def __str__(self):
        return f"{self.dealer.code} {self.month:%Y-%m}"


class Notification(models.Model):
    """An in-app message; `key` makes sending the same message twice a no-op."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    key = models.CharField(max_length=200)
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_notification_per_user_key")]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self):
        return self.title


class TargetStep(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    COUNTERED = "countered", _("Counter-proposal")
    AGREED = "agreed", _("Agreed")
    IMPORTED = "imported", _("Imported")
    CORRECTED = "corrected", _("Corrected")


class TargetVersionQuerySet(ScopedQuerySet):
    office_field = "target__dealer__office"


class TargetVersion(models.Model):
    """One step of a monthly target's negotiation; every step is kept."""

    target = models.ForeignKey(
        MonthlyTarget, on_delete=models.CASCADE, related_name="versions", verbose_name=_("monthly target")
    )
    version = models.PositiveIntegerField(_("version"))
    step = models.CharField(_("step"), max_length=20, choices=TargetStep.choices)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    # of an agreeing step (agreed, imported, corrected); empty for proposals
    timeliness = models.CharField(_("timeliness"), max_length=10, choices=Timeliness.choices, blank=True)
    # why sales planning corrected a closed month's target
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    objects = TargetVersionQuerySet.as_manager()

    class Meta:
        ordering = ["target", "version"]
        verbose_name = _("target version")
        verbose_name_plural = _("target versions")
        constraints = [
            models.UniqueConstraint(fields=["target", "version"], name="one_target_version_number"),
            models.CheckConstraint(
                condition=~Q(step="corrected") | ~Q(reason=""), name="target_correction_has_reason"
            ),
        ]

    def __str__(self):
        return f"{self.target} v{self.version} {self.step}"


POINTS_TIERS_FROM_THE_BEGINNING = datetime.date(2000, 1, 1)


class PointsTier(models.Model):
    """From `threshold` percent attainment (inclusive) upwards, `rate` points per 1000 yuan of
    sales, in the months from `effective_from` until a later set of tiers takes over."""

    effective_from = MonthField(
        _("effective from month"),
        default=POINTS_TIERS_FROM_THE_BEGINNING,
        help_text=_(
            "The first month these tiers apply to (its first day). A month without tiers of its "
            "own starts as a copy of the tiers then in force."
        ),
    )
    threshold = models.DecimalField(_("attainment from (%)"), max_digits=7, decimal_places=2)
    rate = models.DecimalField(_("points per 1000 yuan"), max_digits=7, decimal_places=3)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-effective_from", "-threshold"]
        verbose_name = _("points tier")
        verbose_name_plural = _("points tiers")
        constraints = [
            models.UniqueConstraint(
                fields=["effective_from", "threshold"], name="one_points_tier_per_month_threshold"
            )
        ]

    def __str__(self):
        return f"{self.effective_from:%Y-%m}: ≥ {self.threshold} % → {self.rate}"


class PointsEntryKind(models.TextChoices):
    EARNED = "earned", _("Earned")
    ADJUSTMENT = "adjustment", _("Adjustment")


class PointsEntry(models.Model):
    """The points ledger: one earned entry per dealer and month, any number of adjustments."""

    dealer = models.ForeignKey(
        Dealer, on_delete=models.CASCADE, related_name="points_entries", verbose_name=_("dealer")
    )
    month = MonthField(_("month"))
    kind = models.CharField(_("kind"), max_length=20, choices=PointsEntryKind.choices)
    points = models.DecimalField(_("points"), max_digits=14, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
    )
    created_at = models.DateTimeField(_("entered at"), auto_now_add=True)

    # No simple-history here: the ledger is append-only (who and when are on each entry)
    # and earned entries are recomputed set-wise from the sales and targets, which keep history.
    objects = DealerScopedQuerySet.as_manager()

    class Meta:
        ordering = ["dealer__code", "month", "id"]
        verbose_name = _("points entry")
        verbose_name_plural = _("points ledger")
        constraints = [
            models.UniqueConstraint(
                fields=["dealer", "month"],
                condition=Q(kind="earned"),
                name="one_earned_points_entry_per_month",
            ),
            models.CheckConstraint(
                condition=Q(kind="earned") | ~Q(reason=""), name="points_adjustment_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["month", "kind"])]

    def __str__(self):
        return f"{self.dealer.code} {self.month:%Y-%m} {self.points}"


class QuarterNote(models.Model):
    """The business manager's quarterly notes on a dealer (regulation 4.2 (2))."""

    dealer = models.ForeignKey(
        Dealer, on_delete=models.CASCADE, related_name="quarter_notes", verbose_name=_("dealer")
    )
    quarter = QuarterField(_("quarter"))
    potential = models.TextField(_("potential"), blank=True)
    obstacles = models.TextField(_("obstacles"), blank=True)
    capability = models.TextField(_("capability"), blank=True)
    effort = models.TextField(_("effort"), blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = DealerScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["dealer__code", "-quarter"]
        verbose_name = _("quarterly note")
        verbose_name_plural = _("quarterly notes")
        constraints = [
            models.UniqueConstraint(fields=["dealer", "quarter"], name="one_note_per_dealer_quarter")
        ]

    def __str__(self):
        return f"{self.dealer.code} {self.quarter}"


class ReminderKind(models.TextChoices):
    HEADS_UP = "heads_up", _("Heads-up")
    DEADLINE = "deadline", _("Deadline day")


class ReminderLog(models.Model):
    """A target reminder claimed for one person, month, kind and audience: sent at most once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    month = MonthField(_("target month"))
    kind = models.CharField(_("kind"), max_length=20, choices=ReminderKind.choices)
    audience = models.CharField(_("audience"), max_length=30)
    dealer_count = models.PositiveIntegerField(_("dealers listed"), default=0)
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        ordering = ["-sent_at"]
        verbose_name = _("target reminder")
        verbose_name_plural = _("target reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "month", "kind", "audience"], name="one_target_reminder_per_person_month_kind"
            )
        ]

    def __str__(self):
        return f"{self.user} {self.month:%Y-%m} {self.kind}"


class DataVersion(models.Model):
    """A version per table (or per table and quarter), raised by PostgreSQL triggers on every
    statement that changes the table: pages that aggregate a whole company cache their
    figures under the versions of what they read (`dealers.versions`). Each raise takes the
    next value of one sequence, so a version is never repeated, even after a rollback.
    """

    name = models.CharField(max_length=60, primary_key=True)
    version = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("data version")
        verbose_name_plural = _("data versions")

    def __str__(self):
        return f"{self.name} {self.version}"


class DataVersionLog(models.Model):
    """The versions of tables written by concurrent transactions (grades, while office jobs
    grade in parallel): a PostgreSQL trigger inserts a row per statement, never updates one,
    so writers never wait for each other. A table's version is the number of statements
    logged (the sum of `statements`) and the highest sequence value (`dealers.versions`);
    `versions.compact_log` folds old rows into one without changing either."""

    name = models.CharField(max_length=60)
    version = models.BigIntegerField()
    statements = models.BigIntegerField(default=1)

    class Meta:
        verbose_name = _("data version")
        verbose_name_plural = _("data versions")
        indexes = [models.Index(fields=["name", "version", "statements"], name="data_version_log")]

    def __str__(self):
        return f"{self.name} {self.version}"
