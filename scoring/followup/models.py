"""Follow-through of the classes (DESIGN.md §5a): support ledger, watch list, appeals.

Defined here and imported by `scoring.models`, so they belong to the scoring app.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from dealers.models import Dealer, DealerScopedQuerySet
from evalsys.periods import QuarterField

CLASS_CHOICES = [(c, c) for c in "ABC"]


class SupportKind(models.TextChoices):
    ADVERTISING = "advertising", _("Advertising support")
    NEW_PRODUCT = "new_product", _("First launch of new products")
    PROMOTION = "promotion", _("Strong promotion")
    SPECIAL_SUPPLY = "special_supply", _("Special-supply products")
    OTHER = "other", _("Other")


class SupportEntry(models.Model):
    """Support given to a dealer (regulation 3.3 2(3)): what, when, worth how much."""

    dealer = models.ForeignKey(
        Dealer, on_delete=models.PROTECT, related_name="support_entries", verbose_name=_("dealer")
    )
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind of support"), max_length=20, choices=SupportKind.choices)
    value = models.DecimalField(
        _("value (yuan)"), max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal(0))]
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    objects = DealerScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("support entry")
        verbose_name_plural = _("support ledger")
        # The quarter report reads a quarter's entries by date, with everything it sums in the index.
        indexes = [
            models.Index(fields=["date", "dealer", "kind", "value"], name="support_by_date"),
            models.Index(fields=["dealer", "date"]),
        ]
        constraints = [models.CheckConstraint(condition=Q(value__gte=0), name="support_value_not_negative")]

    def __str__(self):
        return f"{self.dealer_id} {self.date} {self.kind} {self.value}"


class WatchRule(models.Model):
    """Who goes on the watch list at publishing: final class at or below `grade_class` in each of
    the last `quarters` published quarters (the one being published included)."""

    grade_class = models.CharField(_("class"), max_length=1, choices=CLASS_CHOICES, default="C")
    quarters = models.PositiveSmallIntegerField(
        _("consecutive published quarters"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(8)],
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("watch-list rule")
        verbose_name_plural = _("watch-list rule")

    def __str__(self):
        return _("Class %(cls)s or below in %(n)s consecutive published quarters") % {
            "cls": self.grade_class,
            "n": self.quarters,
        }

    def clean(self):
        if self.grade_class == "A":
            raise ValidationError({"grade_class": _("Class A dealers are never put on the watch list.")})

    @classmethod
    def current(cls) -> "WatchRule":
        """The rule in force (the data migration creates it; defaults if an admin deleted it)."""
        return cls.objects.order_by("pk").first() or cls()


class WatchStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IMPROVED = "improved", _("Improved")
    ESCALATED = "escalated", _("Escalated")


class ProposalStatus(models.TextChoices):
    PENDING = "pending", _("To decide")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class WatchEntry(models.Model):
    """A dealer on the watch list, its rectification plan and, when escalated, its elimination proposal."""

    dealer = models.ForeignKey(
        Dealer, on_delete=models.PROTECT, related_name="watch_entries", verbose_name=_("dealer")
    )
    opened_quarter = QuarterField(_("on the list since"))
    status = models.CharField(
        _("status"), max_length=10, choices=WatchStatus.choices, default=WatchStatus.OPEN
    )
    closed_quarter = QuarterField(_("closed at publication of"), blank=True)
    problems = models.TextField(_("problems"), blank=True)
    actions = models.TextField(_("actions"), blank=True)
    owner = models.CharField(_("owner"), max_length=100, blank=True)
    plan_due = models.DateField(_("plan due"), null=True, blank=True)
    plan_updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    plan_updated_at = models.DateTimeField(_("plan updated"), null=True, blank=True)
    proposal = models.CharField(
        _("elimination proposal"), max_length=10, choices=ProposalStatus.choices, blank=True
    )
    proposal_reason = models.TextField(_("reason of the decision"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    objects = DealerScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["dealer__code", "-opened_quarter"]
        verbose_name = _("watch-list entry")
        verbose_name_plural = _("watch list")
        constraints = [
            models.UniqueConstraint(fields=["dealer", "opened_quarter"], name="one_watch_entry_per_quarter"),
            models.UniqueConstraint(
                fields=["dealer"], condition=Q(status="open"), name="one_open_watch_entry_per_dealer"
            ),
            models.CheckConstraint(
                condition=Q(proposal="") | Q(status="escalated"), name="proposal_only_when_escalated"
            ),
        ]
        indexes = [models.Index(fields=["status", "plan_due"]), models.Index(fields=["proposal"])]

    def __str__(self):
        return f"{self.dealer_id} {self.opened_quarter} {self.status}"

    def get_absolute_url(self):
        return reverse("followup:watch_entry", args=[self.pk])

    @property
    def has_plan(self) -> bool:
        return bool(self.problems or self.actions)


class ProgressNote(models.Model):
    """A dated note on how the rectification plan is going; notes are only added."""

    entry = models.ForeignKey(WatchEntry, on_delete=models.CASCADE, related_name="notes")
    date = models.DateField(_("date"))
    text = models.TextField(_("progress"))
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    written_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("progress note")
        verbose_name_plural = _("progress notes")

    def __str__(self):
        return f"{self.entry_id} {self.date}"


class AppealStatus(models.TextChoices):
    OPEN = "open", _("Open")
    OVERRIDDEN = "overridden", _("Class changed")
    REJECTED = "rejected", _("Rejected")
    LAPSED = "lapsed", _("Not decided before publishing")


class Appeal(models.Model):
    """An office manager's request to review a dealer's computed class before publishing."""

    dealer = models.ForeignKey(
        Dealer, on_delete=models.PROTECT, related_name="appeals", verbose_name=_("dealer")
    )
    quarter = QuarterField(_("quarter"))
    computed_class = models.CharField(_("computed class"), max_length=1, blank=True)
    final_class = models.CharField(_("final class when asked"), max_length=1, blank=True)
    requested_class = models.CharField(_("class asked for"), max_length=1, choices=CLASS_CHOICES, blank=True)
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("asked by")
    )
    requested_at = models.DateTimeField(_("asked at"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=10, choices=AppealStatus.choices, default=AppealStatus.OPEN
    )
    decided_class = models.CharField(_("class decided"), max_length=1, blank=True)
    decision_reason = models.TextField(_("reason of the decision"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    objects = DealerScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        constraints = [
            models.UniqueConstraint(
                fields=["dealer", "quarter"], condition=Q(status="open"), name="one_open_appeal_per_dealer"
            )
        ]
        indexes = [models.Index(fields=["quarter", "status"])]

    def __str__(self):
        return f"{self.dealer_id} {self.quarter} {self.status}"

    def get_absolute_url(self):
        return reverse("followup:appeal", args=[self.pk])


class PlanReminderKind(models.TextChoices):
    DUE_SOON = "due_soon", _("Due within 7 days")
    OVERDUE = "overdue", _("Overdue")


class PlanReminder(models.Model):
    """A plan reminder claimed for one office manager, entry, due date and kind: sent at most once."""

    entry = models.ForeignKey(WatchEntry, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=PlanReminderKind.choices)
    plan_due = models.DateField(_("plan due"))
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        ordering = ["-sent_at"]
        verbose_name = _("plan reminder")
        verbose_name_plural = _("plan reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "user", "kind", "plan_due"], name="one_plan_reminder_per_due_date"
            )
        ]

    def __str__(self):
        return f"{self.entry_id} {self.kind} {self.plan_due}"
