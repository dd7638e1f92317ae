"""Number formats for Simplified Chinese: Django's own leave the thousand separator empty, but
office staff read money as 1,234,567.89 (DESIGN.md §1). Dates stay as Django's zh_Hans has them."""

from django.conf.locale.zh_Hans.formats import *  # noqa: F403

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
