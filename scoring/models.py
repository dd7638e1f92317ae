"""Indicators, weights, rounds, score sheets and grades (DESIGN.md §3)."""

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from dealers.models import Dealer, DealerKind, Office, ScopedQuerySet

# QuarterField is imported here too because the first migrations name it `scoring.models.QuarterField`
from evalsys.periods import QuarterField

SCORE_VALIDATORS = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]


class Method(models.TextChoices):
    MANUAL = "manual", _("Entered by the office")
    PERCENTILE = "percentile", _("Computed: sales percentile")
    ATTAINMENT = "attainment", _("Computed: target attainment")


class MissingRule(models.TextChoices):
    MANUAL = "manual", _("Must be entered")
    ZERO = "zero", _("Counts as zero")
    EXCLUDE = "exclude", _("Excluded, weights renormalised")


class Indicator(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    for_exclusive = models.BooleanField(_("for exclusive dealers"), default=True)
    for_logistics = models.BooleanField(_("for logistics distributors"), default=True)
    method = models.CharField(_("method"), max_length=20, choices=Method.choices, default=Method.MANUAL)
    missing_rule = models.CharField(
        _("when data is missing"), max_length=20, choices=MissingRule.choices, default=MissingRule.MANUAL
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")

    def __str__(self):
        return self.name

    @property
    def computed(self):
        return self.method != Method.MANUAL

    def applies_to(self, kind):
        return self.for_exclusive if kind == DealerKind.EXCLUSIVE else self.for_logistics


class WeightScheme(models.Model):
    """The weights of one dealer kind's indicators, effective from a quarter on."""

    kind = models.CharField(_("dealer kind"), max_length=20, choices=DealerKind.choices)
    effective_from = QuarterField(_("effective from quarter"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["kind", "-effective_from"]
        verbose_name = _("weight scheme")
        verbose_name_plural = _("weight schemes")
        constraints = [
            models.UniqueConstraint(fields=["kind", "effective_from"], name="one_scheme_per_kind_quarter")
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.effective_from}"


class IndicatorWeight(models.Model):
    scheme = models.ForeignKey(WeightScheme, on_delete=models.CASCADE, related_name="weights")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, verbose_name=_("indicator"))
    weight = models.DecimalField(_("weight"), max_digits=5, decimal_places=2)

    history = HistoricalRecords()

    class Meta:
        ordering = ["indicator__position"]
        verbose_name = _("weight")
        verbose_name_plural = _("weights")
        constraints = [
            models.UniqueConstraint(fields=["scheme", "indicator"], name="one_weight_per_indicator")
        ]

    def __str__(self):
        # The admin captions each weight row with this: the indicator's name, as people know it.
        return f"{self.indicator.name}（{self.weight}%）"


class PolicyMethod(models.TextChoices):
    BANDS = "bands", _("Bands")
    QUOTA = "quota", _("Quota")


class ClassificationPolicy(models.Model):
    effective_from = QuarterField(_("effective from quarter"), unique=True)
    method = models.CharField(
        _("method"), max_length=10, choices=PolicyMethod.choices, default=PolicyMethod.BANDS
    )
    band_a = models.DecimalField(_("A from total"), max_digits=5, decimal_places=2, default=Decimal(85))
    band_b = models.DecimalField(_("B from total"), max_digits=5, decimal_places=2, default=Decimal(70))
    quota_a = models.DecimalField(_("A share (%)"), max_digits=5, decimal_places=2, default=Decimal(20))
    quota_b = models.DecimalField(_("B share (%)"), max_digits=5, decimal_places=2, default=Decimal(30))

    history = HistoricalRecords()

    class Meta:
        ordering = ["-effective_from"]
        verbose_name = _("classification policy")
        verbose_name_plural = _("classification policies")

    def __str__(self):
        return f"{self.get_method_display()} {self.effective_from}"

    def clean(self):
        errors = {}
        if not (Decimal(100) >= self.band_a > self.band_b >= 0):
            errors["band_b"] = _("Thresholds must satisfy 100 ≥ A > B ≥ 0.")
        if self.quota_a < 0 or self.quota_b < 0 or self.quota_a + self.quota_b > 100:
            errors["quota_b"] = _("Quota shares must be at least 0 and add up to at most 100.")
        if errors:
            raise ValidationError(errors)


class ClassBenefit(models.Model):
    grade_class = models.CharField(_("class"), max_length=1, unique=True, choices=[(c, c) for c in "ABC"])
    description = models.TextField(_("benefits"))

    history = HistoricalRecords()

    class Meta:
        ordering = ["grade_class"]
        verbose_name = _("class benefit")
        verbose_name_plural = _("class benefits")

    def __str__(self):
        return self.grade_class


class RoundStatus(models.TextChoices):
    OPEN = "open", _("Open")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")


class EvaluationRound(models.Model):
    office = models.ForeignKey(
        Office, on_delete=models.PROTECT, related_name="rounds", verbose_name=_("office")
    )
    quarter = QuarterField(_("quarter"))
    status = models.CharField(
        _("status"), max_length=10, choices=RoundStatus.choices, default=RoundStatus.OPEN
    )
    meeting_date = models.DateField(_("meeting date"), null=True, blank=True)
    chair = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("chair (office manager)"),
    )
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="evaluation_rounds", verbose_name=_("participants")
    )
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()
    history = HistoricalRecords(m2m_fields=[])

    class Meta:
        ordering = ["-quarter", "office__code"]
        verbose_name = _("evaluation round")
        verbose_name_plural = _("evaluation rounds")
        constraints = [
            models.UniqueConstraint(fields=["office", "quarter"], name="one_round_per_office_quarter")
        ]

    def __str__(self):
        return f"{self.office.code} {self.quarter}"

    def get_absolute_url(self):
        return reverse("scoring:round", args=[self.pk])

    @property
    def locked(self):
        return self.status == RoundStatus.APPROVED


class RoundReopening(models.Model):
    round = models.ForeignKey(EvaluationRound, on_delete=models.CASCADE, related_name="reopenings")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(_("reason"))
    previous_status = models.CharField(max_length=10, choices=RoundStatus.choices)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("round reopening")
        verbose_name_plural = _("round reopenings")

    def __str__(self):
        return f"{self.round} {self.at:%Y-%m-%d}"


class SheetQuerySet(ScopedQuerySet):
    office_field = "round__office"


class ScoreSheet(models.Model):
    round = models.ForeignKey(EvaluationRound, on_delete=models.CASCADE, related_name="sheets")
    dealer = models.ForeignKey(Dealer, on_delete=models.CASCADE, related_name="score_sheets")
    comment = models.TextField(_("comment"), blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = SheetQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("score sheet")
        verbose_name_plural = _("score sheets")
        constraints = [models.UniqueConstraint(fields=["round", "dealer"], name="one_sheet_per_dealer_round")]

    def __str__(self):
        return f"{self.dealer.code} {self.round.quarter}"

    def get_absolute_url(self):
        return reverse("scoring:sheet", args=[self.pk])


PHOTO_MAX_BYTES = 5 * 1024 * 1024
# What Pillow must find inside a photo, whatever its name says, and the extension it is stored under.
PHOTO_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp"}
PHOTO_MAX_PIXELS = 50_000_000


def validate_photo_size(file):
    if file.size > PHOTO_MAX_BYTES:
        raise ValidationError(_("The photo is larger than 5 MB."))


def photo_format(file) -> str:
    """The image format Pillow finds in `file` (one of PHOTO_FORMATS), or ValidationError."""
    from PIL import Image, UnidentifiedImageError

    position = file.tell() if hasattr(file, "tell") else 0
    try:
        file.seek(0)
        with Image.open(file) as image:
            found = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(_("The file is not a JPEG, PNG, GIF or WebP image.")) from None
    finally:
        file.seek(position)
    if found not in PHOTO_FORMATS:
        raise ValidationError(_("The file is not a JPEG, PNG, GIF or WebP image."))
    if width * height > PHOTO_MAX_PIXELS:
        raise ValidationError(_("The photo has more than 50 megapixels."))
    return found


def validate_photo_content(file):
    photo_format(file)


def evidence_path(instance, filename) -> str:
    """A random name, with the extension of the image format found inside (not the uploader's)."""
    import secrets

    from django.utils import timezone

    try:
        extension = PHOTO_FORMATS[photo_format(instance.photo.file)]
    except (ValidationError, ValueError, AttributeError):
        extension = ".bin"
    return f"scores/{timezone.localdate().year}/{secrets.token_hex(16)}{extension}"


class Score(models.Model):
    # The unique (sheet, indicator) index serves lookups by sheet; a second index on the sheet alone
    # would only slow the 200,000 score rows a first grading updates.
    sheet = models.ForeignKey(ScoreSheet, on_delete=models.CASCADE, related_name="scores", db_index=False)
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, verbose_name=_("indicator"))
    value = models.DecimalField(
        _("score"), max_digits=5, decimal_places=2, null=True, blank=True, validators=SCORE_VALIDATORS
    )
    computed = models.BooleanField(_("computed"), default=False)
    override_value = models.DecimalField(
        _("override"), max_digits=5, decimal_places=2, null=True, blank=True, validators=SCORE_VALIDATORS
    )
    override_reason = models.TextField(_("override reason"), blank=True)
    comment = models.TextField(_("comment"), blank=True)
    photo = models.ImageField(
        _("photo evidence"),
        upload_to=evidence_path,
        blank=True,
        validators=[validate_photo_size, validate_photo_content],
    )

    # Score history is read by score (id) and date; grading writes a history row per computed score.
    # (user_db_constraint: the history rows of a grading have no user; a constraint
    # checked per row at commit would cost 0.1 s per 100,000 of them)
    history = HistoricalRecords(no_db_index=["sheet", "indicator"], user_db_constraint=False)

    class Meta:
        verbose_name = _("score")
        verbose_name_plural = _("scores")
        constraints = [models.UniqueConstraint(fields=["sheet", "indicator"], name="one_score_per_indicator")]

    def __str__(self):
        return f"{self.sheet_id} {self.indicator_id} {self.effective}"

    @property
    def effective(self):
        return self.override_value if self.override_value is not None else self.value


class GradingStatus(models.TextChoices):
    GRADING = "grading", _("Grading")
    GRADED = "graded", _("Graded")
    PUBLISHED = "published", _("Published")


class QuarterGrading(models.Model):
    """One quarter's grading run and publication."""

    quarter = QuarterField(_("quarter"), unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=GradingStatus.choices, default=GradingStatus.GRADING
    )
    offices_total = models.PositiveIntegerField(default=0)
    offices_done = models.JSONField(default=list)
    started_at = models.DateTimeField(null=True, blank=True)
    graded_at = models.DateTimeField(_("graded"), null=True, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    error = models.TextField(blank=True)
    # the last time a re-grade moved on (started, an office batch done, finished): a run with no
    # progress for STALLED_AFTER is shown as stalled, its worker presumably dead
    progress_at = models.DateTimeField(null=True, blank=True)
    # final classes per office, {"<office id>": {"A": n, "B": n, "C": n, "": n}}, kept by grading and overrides
    distribution = models.JSONField(default=dict, blank=True)
    # previous × final class counts per office, {"<office id>": [[previous, final, n], …]}, kept with `distribution`
    movements = models.JSONField(default=dict, blank=True)
    # DESIGN §5a's calibration per office as graded, {"<office id>": {"dealers": n, "manual_mean": "80.00", …}}
    calibration = models.JSONField(default=dict, blank=True)
    # What the last finished re-grade read, hashed (`scoring.sql.input_fingerprints`):
    # {"config": h, "sales": h, "offices": {"<office id>": h}}; a re-grade grades only the offices
    # whose hash differs. `planned`: the running re-grade's hashes, kept for its finish.
    fingerprints = models.JSONField(default=dict, blank=True)
    planned = models.JSONField(default=dict, blank=True)
    # The running re-grade's calibration sums of the offices its batches graded, as the grading
    # statement summed them (`scoring.insight.calibration.GroupSums` as strings, null for an office
    # with no dealer evaluated), so that its finish does not read every score again.
    calibration_sums = models.JSONField(default=dict, blank=True)

    history = HistoricalRecords(
        excluded_fields=[
            "distribution",
            "movements",
            "calibration",
            "offices_done",
            "progress_at",
            "fingerprints",
            "planned",
            "calibration_sums",
        ]
    )

    class Meta:
        ordering = ["-quarter"]
        verbose_name = _("quarter grading")
        verbose_name_plural = _("quarter gradings")

    def __str__(self):
        return self.quarter

    @property
    def stalled(self) -> bool:
        """A re-grade that has not moved on for 10 minutes (DESIGN.md §3.5)."""
        return (
            self.status == GradingStatus.GRADING
            and not self.error
            and self.progress_at is not None
            and timezone.now() - self.progress_at > STALLED_AFTER
        )


STALLED_AFTER = datetime.timedelta(minutes=10)


class QuarterReopening(models.Model):
    """An administrator's reopening of a published quarter, with the reason."""

    grading = models.ForeignKey(QuarterGrading, on_delete=models.CASCADE, related_name="reopenings")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    reason = models.TextField(_("reason"))

    class Meta:
        ordering = ["-at"]
        verbose_name = _("reopening of a published quarter")
        verbose_name_plural = _("reopenings of published quarters")

    def __str__(self):
        return f"{self.grading} {self.at:%Y-%m-%d}"


class Change(models.TextChoices):
    UP = "up", _("Up")
    DOWN = "down", _("Down")
    SAME = "same", _("Same")
    NEW = "new", _("New")


CLASS_CHOICES = [(c, c) for c in "ABC"]


class Grade(models.Model):
    quarter = QuarterField(_("quarter"))
    # Read by dealer through the unique (dealer, quarter) index: no index of its own.
    dealer = models.ForeignKey(
        Dealer, on_delete=models.CASCADE, related_name="grades", verbose_name=_("dealer"), db_index=False
    )
    # Grades are read by quarter and office (the composite indexes below), never by office alone.
    # No database constraint on the office, scheme, policy and overrider (PROTECT / SET_NULL
    # are kept by Django): a first grading writes 100,000 grades, and PostgreSQL checks each
    # constraint row by row at commit, 0.3-0.8 s apiece at that size. The grading statement takes
    # them from rows it reads in the same transaction; the dealer's constraint is kept.
    office = models.ForeignKey(
        Office,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("office"),
        db_index=False,
        db_constraint=False,
    )
    kind = models.CharField(_("kind"), max_length=20, choices=DealerKind.choices)
    evaluated = models.BooleanField(_("evaluated"), default=False)
    total = models.DecimalField(_("total"), max_digits=5, decimal_places=2, null=True, blank=True)
    sales_volume = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    office_rank = models.PositiveIntegerField(_("office rank"), null=True, blank=True)
    company_rank = models.PositiveIntegerField(_("company rank"), null=True, blank=True)
    computed_class = models.CharField(_("computed class"), max_length=1, choices=CLASS_CHOICES, blank=True)
    final_class = models.CharField(_("final class"), max_length=1, choices=CLASS_CHOICES, blank=True)
    previous_class = models.CharField(_("previous class"), max_length=1, choices=CLASS_CHOICES, blank=True)
    change = models.CharField(_("change"), max_length=4, choices=Change.choices, blank=True)
    overridden = models.BooleanField(_("overridden"), default=False)
    override_reason = models.TextField(_("override reason"), blank=True)
    # No indexes on these three: nothing looks grades up by them, and each index slows grading.
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    overridden_at = models.DateTimeField(null=True, blank=True)
    scheme = models.ForeignKey(
        WeightScheme,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    policy = models.ForeignKey(
        ClassificationPolicy,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    objects = ScopedQuerySet.as_manager()
    # History is read by grade (id), dealer and date; grading writes up to 100,000 history rows
    # at once, and each index simple-history would add on a foreign key slows every one of them.
    history = HistoricalRecords(
        no_db_index=["office", "overridden_by", "scheme", "policy"], user_db_constraint=False
    )

    class Meta:
        ordering = ["dealer__code"]
        verbose_name = _("grade")
        verbose_name_plural = _("grades")
        constraints = [
            models.UniqueConstraint(fields=["dealer", "quarter"], name="one_grade_per_dealer_quarter")
        ]
        indexes = [
            models.Index(fields=["quarter", "office", "kind"]),
            models.Index(fields=["quarter", "office", "final_class"]),
            models.Index(fields=["quarter", "kind", "company_rank"]),
        ]

    def __str__(self):
        return f"{self.dealer_id} {self.quarter} {self.final_class}"


class SalesScore(models.Model):
    """The computed indicators of one dealer for one quarter, staged by a re-grade.

    Computed company-wide once per run (percentiles need every peer), then
    copied into each office's score sheets inside that office's transaction.
    """

    quarter = QuarterField()
    # Staged by one statement for the whole company: no index of its own (the unique one serves)
    # and no database constraint, checked per row at commit (CASCADE is kept by Django).
    dealer = models.ForeignKey(
        Dealer, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    sales_volume = models.DecimalField(max_digits=5, decimal_places=2, null=True)
    sales_attainment = models.DecimalField(max_digits=5, decimal_places=2, null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["quarter", "dealer"], name="one_sales_score_per_quarter")
        ]

    def __str__(self):
        return f"{self.dealer_id} {self.quarter}"


class StagedSales(models.Model):
    """What a quarter's staged sales indicators were computed from and what staging left, so
    that staging the same inputs again is skipped (`scoring.sql.stage_sales_scores`).

    `inputs`: the hash of every row staging reads (network, sales, targets) with the version of
    its rules; `outputs`: the hash of the quarter's `SalesScore` rows it left. Staging is skipped
    only while both still match, so a changed input, a changed rule or a staged row changed or
    deleted by any other means is staged again.
    """

    quarter = QuarterField(unique=True)
    inputs = models.CharField(max_length=100)
    outputs = models.CharField(max_length=100)
    staged_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("staged sales indicators")
        verbose_name_plural = _("staged sales indicators")

    def __str__(self):
        return f"{self.quarter} {self.staged_at:%Y-%m-%d %H:%M}"


# The follow-through of the classes (DESIGN.md §5a) lives in its own module of this app.
from .followup.models import (  # noqa: E402, F401
    Appeal,
    AppealStatus,
    PlanReminder,
    PlanReminderKind,
    ProgressNote,
    ProposalStatus,
    SupportEntry,
    SupportKind,
    WatchEntry,
    WatchRule,
    WatchStatus,
)
