"""Calendar quarters (`2026Q3`) and months (`2026-09`) as DESIGN.md §2 writes them.

A month is represented by the date of its first day; a quarter by `Quarter`.

`Quarter.parse` and `parse_month` read any year in YEARS (the quarter before and after still
exist). What a user types in a page's parameters or an import file is bounded here, in one
place: `parse_quarter_input` and `parse_month_input` accept MIN_YEAR to `max_year()` (next
year) and raise PeriodOutOfRange otherwise; `period_error` is the message to show.

Every app stores its quarters in a `QuarterField` (text `2026Q3`, which sorts in time order) and
its months in a `MonthField` (the month's first day); both validate what forms and the admin
save, with one translated message.
"""

import datetime
import re
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy

_QUARTER_RE = re.compile(r"^\s*(\d{4})\s*[Qq]\s*([1-4])\s*$")
# The years a quarter is read in: anything else is a typing mistake, and year 9999's last quarter
# would have no next one to end it.
YEARS = (1900, 2999)
_MONTH_RE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?\s*$")


MIN_YEAR = 2000


def max_year(today: datetime.date | None = None) -> int:
    """The last year a user may ask for: next year (targets are agreed ahead)."""
    from django.utils import timezone

    return (today or timezone.localdate()).year + 1


def year_in_range(year: int, today: datetime.date | None = None) -> bool:
    return MIN_YEAR <= year <= max_year(today)


class PeriodOutOfRange(ValueError):
    """A well-formed quarter or month whose year is outside MIN_YEAR..max_year()."""


def _check_year(year: int, text) -> None:
    if not year_in_range(year):
        raise PeriodOutOfRange(f"{text!r}: the year must be between {MIN_YEAR} and {max_year()}")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> "Quarter":
        """`2026Q3` → Quarter(2026, 3); ValueError when malformed or outside YEARS."""
        match = _QUARTER_RE.match(str(text))
        if not match or not YEARS[0] <= int(match[1]) <= YEARS[1]:
            raise ValueError(f"not a quarter like 2026Q3: {text!r}")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def containing(cls, day: datetime.date) -> "Quarter":
        return cls(day.year, (day.month - 1) // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def months(self) -> list[datetime.date]:
        first = (self.number - 1) * 3 + 1
        return [datetime.date(self.year, first + i, 1) for i in range(3)]

    @property
    def start(self) -> datetime.date:
        return self.months[0]

    @property
    def end(self) -> datetime.date:
        return self.next().start - datetime.timedelta(days=1)

    def previous(self) -> "Quarter":
        if self.number == 1:
            return Quarter(self.year - 1, 4)
        return Quarter(self.year, self.number - 1)

    def next(self) -> "Quarter":
        if self.number == 4:
            return Quarter(self.year + 1, 1)
        return Quarter(self.year, self.number + 1)

    def year_before(self) -> "Quarter":
        return Quarter(self.year - 1, self.number)


def parse_month(value) -> datetime.date:
    """`2026-09`, `2026/9`, `2026年9月` or a date → the first day of that month; ValueError
    when malformed or outside YEARS."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        month = value.replace(day=1)
    else:
        match = _MONTH_RE.match(str(value))
        if not match or not 1 <= int(match[2]) <= 12:
            raise ValueError(f"not a month like 2026-09: {value!r}")
        month = datetime.date(int(match[1]), int(match[2]), 1)
    if not YEARS[0] <= month.year <= YEARS[1]:
        raise ValueError(f"not a month like 2026-09: {value!r}")
    return month


def parse_quarter_input(text) -> "Quarter":
    """A quarter a user typed: as `Quarter.parse`, and PeriodOutOfRange outside MIN_YEAR..max_year()."""
    match = _QUARTER_RE.match(str(text))
    if match:
        _check_year(int(match[1]), text)
    return Quarter.parse(text)


def parse_month_input(value) -> datetime.date:
    """A month a user typed: as `parse_month`, and PeriodOutOfRange outside MIN_YEAR..max_year()."""
    match = None if isinstance(value, datetime.date) else _MONTH_RE.match(str(value))
    if match:
        _check_year(int(match[1]), value)
    month = parse_month(value)
    _check_year(month.year, value)
    return month


def period_error(value, *, quarter: bool = False) -> str:
    """The translated message for a quarter or month the user typed that cannot be read."""
    from django.utils.translation import gettext as _

    try:
        (parse_quarter_input if quarter else parse_month_input)(value)
    except PeriodOutOfRange:
        return _("%(value)s: the year must be between %(first)s and %(last)s.") % {
            "value": value,
            "first": MIN_YEAR,
            "last": max_year(),
        }
    except ValueError:
        pass
    if quarter:
        return _("Not a quarter like 2026Q3: %(value)s") % {"value": value}
    return _("Not a month like 2026-09: %(value)s") % {"value": value}


def format_month(month: datetime.date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def add_months(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def quarter_just_ended(today: datetime.date | None = None) -> Quarter:
    """The quarter before the one containing `today` (default: today in the project's time zone)."""
    from django.utils import timezone

    return Quarter.containing(today or timezone.localdate()).previous()


def validate_quarter(value) -> None:
    """A stored quarter must read as `2026Q3`."""
    try:
        Quarter.parse(value)
    except ValueError:
        raise ValidationError(gettext_lazy("Enter a quarter like 2026Q3."), code="invalid_quarter") from None


def validate_month(value) -> None:
    """A stored month is the first day of that month."""
    if value is not None and (not isinstance(value, datetime.date) or value.day != 1):
        raise ValidationError(gettext_lazy("Enter a month like 2026-09."), code="invalid_month")


class QuarterField(models.CharField):
    """A calendar quarter stored as `2026Q3`; the text sorts in time order.

    `2026q3` and ` 2026 Q3 ` are read as `2026Q3`; anything else (`2026Q5`) fails validation."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 6)
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        try:
            return str(Quarter.parse(value)) if value else value
        except ValueError:
            return value

    def run_validators(self, value):
        # one message for `2026Q5` or `2026-03`, not also the column's length
        if value not in self.empty_values:
            validate_quarter(value)
        super().run_validators(value)

    def formfield(self, **kwargs):
        # the form reads `2026 Q3` (longer than the column) before the model normalises it
        return super().formfield(**{"max_length": 20, **kwargs})


class MonthFormField(forms.DateField):
    """A month typed as `2026-09` (the browser's month input), `2026/9`, `2026年9月` or as a
    day of it (`2026-09-17`, the admin's date widget), cleaned to its first day."""

    widget = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")
    default_error_messages = {"invalid": gettext_lazy("Enter a month like 2026-09.")}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, str):
            try:
                return parse_month(value)
            except ValueError:
                pass
        # a full date, e.g. from the admin's date widget, stands for its month
        return super().to_python(value).replace(day=1)


class MonthField(models.DateField):
    """A calendar month stored as the date of its first day."""

    default_error_messages = {
        "invalid": gettext_lazy("Enter a month like 2026-09."),
        "invalid_date": gettext_lazy("Enter a month like 2026-09."),
    }

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validators", [validate_month])
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("validators", None)
        return name, path, args, kwargs

    def to_python(self, value):
        if isinstance(value, str) and _MONTH_RE.match(value):
            try:
                return parse_month(value)
            except ValueError:
                raise ValidationError(
                    gettext_lazy("Enter a month like 2026-09."), code="invalid_month"
                ) from None
        return super().to_python(value)

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": MonthFormField, **kwargs})


def normalise_stored_periods(apps, columns: list[tuple[str, str, str]]) -> None:
    """Data migration step for the columns that became a QuarterField or a MonthField:
    `columns` lists (app label, model name, field name).

    A quarter that reads as one (`2026q3`, ` 2026Q3`) is rewritten as `2026Q3`; a month is
    already a date and must be a first day. Anything else stops the migration before any row
    changes, with a message listing the rows to fix: guessing would corrupt the data.
    """
    from django.core.management.base import CommandError

    bad, rewrites = [], []
    for app_label, model_name, field_name in columns:
        model = apps.get_model(app_label, model_name)
        field = model._meta.get_field(field_name)
        rows = model._base_manager.all()
        if isinstance(field, models.DateField):
            wrong = rows.exclude(**{f"{field_name}__day": 1}).exclude(**{f"{field_name}__isnull": True})
            bad += [
                f"{app_label}.{model_name} id {pk}: {field_name}={value}"
                for pk, value in wrong.values_list("pk", field_name)[:20]
            ]
            continue
        # by primary key: a lookup on a QuarterField would read `2026q3` as `2026Q3` already
        by_value: dict[str, list] = {}
        for pk, value in rows.values_list("pk", field_name).order_by("pk"):
            by_value.setdefault(value, []).append(pk)
        for value, pks in by_value.items():
            if value == "" and field.blank:
                continue
            try:
                canonical = str(Quarter.parse(value))
            except ValueError:
                bad += [f"{app_label}.{model_name} id {pk}: {field_name}={value!r}" for pk in pks[:20]]
                continue
            if canonical != value:
                rewrites.append((model, pks, field_name, canonical))
    if bad:
        raise CommandError(
            "These stored quarters (like 2026Q3) or months (the first day of a month) cannot be "
            "read; correct them and run migrate again:\n  " + "\n  ".join(bad)
        )
    for model, pks, field_name, canonical in rewrites:
        model._base_manager.filter(pk__in=pks).update(**{field_name: canonical})
