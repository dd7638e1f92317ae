import datetime

from django import template

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
    if isinstance(value, datetime.date):
        if column is not None and column.parse is parse_month_cell:
            return format_month(value)
        return value.isoformat()
    return value
