from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from dealers.models import Dealer, DealerScopedQuerySet, Office, ScopedQuerySet
from evalsys.periods import MonthField, QuarterField

from .rules import days_to_report

RATING_VALIDATORS = [MinValueValidator(0), MaxValueValidator(100)]


class Visit(models.Model):
    """A business manager's visit to a dealer (巡访), rated 1–5 for its effect."""

    date = models.DateField(_("date"))
    dealer = models.ForeignKey(
        Dealer, on_delete=models.CASCADE, related_name="visits", verbose_name=_("dealer")
    )
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="visits", verbose_name=_("visitor")
    )
    purpose = models.CharField(_("purpose"), max_length=200)
    findings = models.TextField(_("findings"), blank=True)
    effect = models.PositiveSmallIntegerField(
        _("effect"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    follow_up = models.TextField(_("follow-up"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # The visit form's one-time token: a form sent twice (double tap, resend) stores one visit.
    submission = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    objects = DealerScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        indexes = [models.Index(fields=["date", "dealer"]), models.Index(fields=["dealer", "date"])]
        constraints = [
            models.CheckConstraint(condition=Q(effect__gte=1) & Q(effect__lte=5), name="visit_effect_1_to_5")
        ]

    def __str__(self):
        return f"{self.dealer.code} {self.date:%Y-%m-%d}"


class ChurnReason(models.TextChoices):
    COMPETITOR = "competitor", _("Went to a competitor")
    CLOSED = "closed", _("Closed down")
    CREDIT = "credit", _("Credit problems")
    PRICE_DISPUTE = "price_dispute", _("Price dispute")
    RELOCATION = "relocation", _("Relocated")
    OTHER = "other", _("Other")


class Verification(models.TextChoices):
    PENDING = "pending", _("Awaiting verification")
    CONFIRMED = "confirmed", _("Confirmed")
    DISPUTED = "disputed", _("Disputed")


class ChurnReport(models.Model):
    """Why a dealer was lost (客户流失报告), verified by sales planning."""

    dealer = models.OneToOneField(
        Dealer, on_delete=models.CASCADE, related_name="churn_report", verbose_name=_("dealer")
    )
    reason = models.CharField(_("reason"), max_length=20, choices=ChurnReason.choices)
    narrative = models.TextField(_("narrative"))
    last_sales_month = MonthField(_("last sales month"))
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("reported by"),
    )
    reported_at = models.DateTimeField(_("reported at"))
    verification = models.CharField(
        _("verification"), max_length=20, choices=Verification.choices, default=Verification.PENDING
    )
    verification_comment = models.TextField(_("verification comment"), blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("verified by"),
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    countermeasures = models.TextField(_("countermeasures"), blank=True)

    objects = DealerScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-reported_at", "-id"]
        verbose_name = _("churn report")
        verbose_name_plural = _("churn reports")
        indexes = [models.Index(fields=["verification"])]

    def __str__(self):
        return f"{self.dealer.code} {self.get_reason_display()}"

    def get_absolute_url(self):
        return reverse("networks:churn_report", args=[self.pk])

    @property
    def days_to_report(self) -> int | None:
        """Days from the churn date to the day this report was filed (DESIGN.md §5)."""
        if self.dealer.churned_on is None:
            return None
        return days_to_report(self.dealer.churned_on, timezone.localtime(self.reported_at).date())


class OfficeAudit(models.Model):
    """VP / sales planning's audit of an office's network for a quarter (网络巡访评估).

    `metrics` is the §5 snapshot frozen when the audit was recorded; ratings are
    0–100 and `score` is their mean.
    """

    office = models.ForeignKey(
        Office, on_delete=models.PROTECT, related_name="audits", verbose_name=_("office")
    )
    quarter = QuarterField(_("quarter"))
    metrics = models.JSONField(_("metrics snapshot"))
    customer_growth_rating = models.DecimalField(
        _("customer growth rating"), max_digits=5, decimal_places=2, validators=RATING_VALIDATORS
    )
    key_customer_growth_rating = models.DecimalField(
        _("key-customer growth rating"), max_digits=5, decimal_places=2, validators=RATING_VALIDATORS
    )
    maintenance_rating = models.DecimalField(
        _("maintenance effect rating"), max_digits=5, decimal_places=2, validators=RATING_VALIDATORS
    )
    findings = models.TextField(_("findings"), blank=True)
    score = models.DecimalField(_("office score"), max_digits=5, decimal_places=2)
    audited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("audited by"),
    )
    audited_at = models.DateTimeField(_("audited at"))

    objects = ScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-quarter", "-score", "office__code"]
        verbose_name = _("office audit")
        verbose_name_plural = _("office audits")
        constraints = [
            models.UniqueConstraint(fields=["office", "quarter"], name="one_audit_per_office_quarter")
        ]

    def __str__(self):
        return f"{self.office.code} {self.quarter}"

    def get_absolute_url(self):
        return reverse("networks:audit", args=[self.pk])


class SummaryStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")


class NetworkSummary(models.Model):
    """An office's quarterly network summary (季度网络管理总结).

    The draft part (metrics, churn list, ABC movements) is filled automatically
    and refreshed while the summary is a draft; the office manager writes the rest.
    """

    office = models.ForeignKey(
        Office, on_delete=models.PROTECT, related_name="network_summaries", verbose_name=_("office")
    )
    quarter = QuarterField(_("quarter"))
    metrics = models.JSONField(_("metrics"), default=dict)
    churn_list = models.JSONField(_("churn list"), default=list)
    abc_movements = models.JSONField(_("ABC movements"), default=list)
    drafted_at = models.DateTimeField(_("drafted at"))
    analysis = models.TextField(_("analysis"), blank=True)
    problems = models.TextField(_("problems"), blank=True)
    next_steps = models.TextField(_("next steps"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=SummaryStatus.choices, default=SummaryStatus.DRAFT
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    planning_comment = models.TextField(_("sales planning comment"), blank=True)
    commented_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("commented by"),
    )
    commented_at = models.DateTimeField(_("commented at"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-quarter", "office__code"]
        verbose_name = _("network summary")
        verbose_name_plural = _("network summaries")
        constraints = [
            models.UniqueConstraint(fields=["office", "quarter"], name="one_summary_per_office_quarter")
        ]

    def __str__(self):
        return f"{self.office.code} {self.quarter}"

    def get_absolute_url(self):
        return reverse("networks:summary", args=[self.office.code, self.quarter])
