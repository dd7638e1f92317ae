"""Number formats for English: as Django's, with the grouping money needs (1,234,567.89)."""

from django.conf.locale.en.formats import *  # noqa: F403

NUMBER_GROUPING = 3
