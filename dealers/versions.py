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
from django.db import connection, transaction

from .models import DataVersion, DataVersionLog

# The tables whose triggers raise a version, and the prefix of per-quarter versions.
DEALERS = "dealers_dealer"
MOVES = "dealers_dealermove"
SALES = "dealers_monthlysales"
TARGETS = "dealers_monthlytarget"
VISITS = "networks_visit"
CHURN_REPORTS = "networks_churnreport"
# Tables whose triggers log a row per statement instead (dealers.DataVersionLog): written by
# concurrent transactions; their version is (rows logged, highest value). A state of the
# table seen by a reader has more rows logged than any earlier one; the highest value tells
# apart states after a rollback.
OFFICES = "dealers_office"
GRADES = "scoring_grade"
SUPPORT = "scoring_supportentry"
SCORES = "scoring_score"
SHEETS = "scoring_scoresheet"
INDICATORS = "scoring_indicator"
ROUNDS = "scoring_evaluationround"
LOGGED = {OFFICES, GRADES, SUPPORT, SCORES, SHEETS, INDICATORS, ROUNDS}
TIMEOUT = 24 * 3600


def quarter_version(table: str, quarter) -> str:
    """The name of a table's version for the rows dated in `quarter` (visits)."""
    return f"{table}:{quarter}"


def versions(names) -> tuple | None:
    """The current versions of `names` (0 for one never raised), in one query; None where
    versions are not kept (not PostgreSQL)."""
    if connection.vendor != "postgresql":
        return None
    names = list(names)
    kept = [name for name in names if name not in LOGGED]
    logged = [name for name in names if name in LOGGED]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT name, version, NULL FROM {DataVersion._meta.db_table} WHERE name = ANY(%s)
            UNION ALL
            SELECT name, SUM(statements), MAX(version) FROM {DataVersionLog._meta.db_table}
            WHERE name = ANY(%s) GROUP BY name
            """,
            [kept, logged],
        )
        found = {
            name: (int(version) if last is None else (int(version), last))
            for name, version, last in cursor.fetchall()
        }
    return tuple(found.get(name, 0) for name in names)


def cached(key, names, compute, current=None):
    """`compute()`, cached under `key` and the current versions of `names` (or `current`, the
    versions of `names` the caller read before)."""
    if current is None:
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


def compact_log(keep: int = 100) -> int:
    """Fold each logged table's rows but its last `keep` into one row carrying their number of
    statements and their highest value: the versions readers see stay what they were. For a
    periodic job; returns the rows removed."""
    removed = 0
    for name in LOGGED:
        with transaction.atomic():
            old = DataVersionLog.objects.select_for_update().filter(name=name).order_by("-version")[keep:]
            rows = list(old.values_list("pk", "version", "statements"))
            if len(rows) < 2:
                continue
            DataVersionLog.objects.filter(pk__in=[pk for pk, _v, _s in rows]).delete()
            DataVersionLog.objects.create(
                name=name, version=max(v for _pk, v, _s in rows), statements=sum(s for _pk, _v, s in rows)
            )
            removed += len(rows) - 1
    return removed
