"""Figures of whole-company pages cached under the versions of the data they read.

`dealers.DataVersion` holds a version per table, raised by PostgreSQL triggers on every
statement that inserts, updates, deletes or truncates (migrations `dealers.0010`,
`networks.0005`): raw SQL and bulk statements included. A cached value is stored under
the versions read *before* it was computed, so a reader never gets figures older than
the versions it sees (a write committed meanwhile at worst makes the entry newer than its
key). Elsewhere than on PostgreSQL nothing is cached.
"""

import hashlib

from django.core.cache import cache
from django.db import connection

from .models import DataVersion

# The tables whose triggers raise a version, and the prefix of per-quarter versions.
DEALERS = "dealers_dealer"
MOVES = "dealers_dealermove"
SALES = "dealers_monthlysales"
TARGETS = "dealers_monthlytarget"
VISITS = "networks_visit"
CHURN_REPORTS = "networks_churnreport"
TIMEOUT = 24 * 3600


def quarter_version(table: str, quarter) -> str:
    """The name of a table's version for the rows dated in `quarter` (visits)."""
    return f"{table}:{quarter}"


def versions(names) -> tuple | None:
    """The current versions of `names` (0 for one never raised), in one query; None where
    versions are not kept (not PostgreSQL)."""
    if connection.vendor != "postgresql":
        return None
    found = dict(DataVersion.objects.filter(name__in=list(names)).values_list("name", "version"))
    return tuple(found.get(name, 0) for name in names)


def cached(key, names, compute):
    """`compute()`, cached under `key` and the current versions of `names`."""
    current = versions(names)
    if current is None:
        return compute()
    digest = hashlib.sha1(repr((key, tuple(names), current)).encode()).hexdigest()
    cache_key = f"evalsys:versioned:{digest}"
    value = cache.get(cache_key)
    if value is None:
        value = compute()
        cache.set(cache_key, value, TIMEOUT)
    return value
