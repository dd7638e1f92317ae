import datetime
from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.db.models import Choices
from django.http import QueryDict
from django.utils import timezone
from django.utils.html import format_html

from dealers.roles import display_name
from evalsys.periods import format_month
from evalsys.tabular import parse_month_cell

register = template.Library()


@register.filter
def get_item(mapping, key):
    """`{{ row.values|get_item:column.name }}`: a dict lookup with a variable key."""
    if mapping is None:
        return None
    return mapping.get(key)


@register.filter
def person(user):
    """A user's full name, else the username; empty for no user."""
    return "" if user is None else display_name(user)


@register.filter
def cell(value, column=None):
    """A parsed spreadsheet value as the file would show it: dates as 2026-09-30, months (the
    values of a month column) as 2026-09, empty for none."""
    if value is None:
        return ""
    if isinstance(value, Choices):
        return value.label  # 专营经销商 rather than "exclusive"
    if isinstance(value, datetime.date):
        if column is not None and column.parse is parse_month_cell:
            return format_month(value)
        return value.isoformat()
    return value


@register.filter
def query_pairs(query: str) -> list[tuple[str, str]]:
    """`page=2&q=x` → [("page", "2"), ("q", "x")]: a query string as hidden inputs of a GET form."""
    return [(key, value) for key, values in QueryDict(query or "").lists() for value in values]


@register.filter
def money(value):
    """Yuan as 1,234,567.89; a negative amount marked red with a minus sign; "–" for none.

    The same in every language (evalsys/formats sets the separators), so a page never mixes styles.
    """
    if value is None or value == "":
        return "–"
    amount = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = f"{abs(amount):,.2f}"
    if amount < 0:
        return format_html('<span class="text-danger">−{}</span>', text)
    return text


@register.filter
def percent(value, places=2):
    """A percentage figure (95.5 means 95.5 %) as 95.50%; a negative one marked red; "–" for none."""
    if value is None or value == "":
        return "–"
    number = Decimal(value).quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP)
    text = f"{abs(number):,}%"
    if number < 0:
        return format_html('<span class="text-danger">−{}</span>', text)
    return text


@register.filter
def is_running(quarter) -> bool:
    """Whether `quarter` (a Quarter or "2026Q3") has not ended yet: its figures are not final."""
    from evalsys.periods import Quarter

    return str(quarter) == str(Quarter.containing(timezone.localdate()))
