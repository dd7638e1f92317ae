"""A GET never writes (DESIGN.md §7): every page of the URLconf, asked for with GET by every
role and by a superuser, leaves every table as it was.

The pages and their path parameters come from the role × page table, which fails when a page
has no row; POST-only pages are asked for with GET too (they must refuse, not write). A table
is compared by its row count and its largest primary key, history tables included, so an
insert, a delete and a change recorded in history are all seen.
"""

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from evalsys.tests.test_role_page_table import CASES, ROLES, World, _make_staff

# Written on every request by design, not by the page: the session and the login throttling.
IGNORED_TABLES = {"django_session", "axes_accesslog", "axes_accessattempt", "axes_accessfailurelog"}


@pytest.fixture(scope="module", autouse=True)
def mid_november():
    with time_machine.travel("2026-11-16 10:00 +0800", tick=False):
        yield


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        world = World(_make_staff)
        world.users["superuser"] = get_user_model().objects.create_superuser(
            "root", "root@example.com", "pw-123456"
        )
        yield world
        transaction.set_rollback(True)


def _snapshot_query() -> str:
    """One statement counting the rows and the largest primary key of every table."""
    parts = []
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            if table in IGNORED_TABLES:
                continue
            key = connection.introspection.get_primary_key_column(cursor, table)
            largest = f"MAX({connection.ops.quote_name(key)})" if key else "NULL"
            parts.append(
                f"SELECT '{table}', COUNT(*), CAST({largest} AS TEXT) FROM {connection.ops.quote_name(table)}"
            )
    return " UNION ALL ".join(parts)


def _snapshot(query) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(query)
        return {table: (count, largest) for table, count, largest in cursor.fetchall()}


def _changed(before, after) -> list[str]:
    return [f"{table}: {before[table]} → {after[table]}" for table in before if before[table] != after[table]]


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_get_writes_nothing_whoever_asks(client, world, case):
    query = _snapshot_query()
    sides = ["own"] + (["other"] if case.other else [])
    # the paths first: building one may create the object the page shows
    requests = [
        (role, case.path(world, side, world.users[role])) for role in (*ROLES, "superuser") for side in sides
    ]
    writes = []
    before = _snapshot(query)
    for role, path in requests:
        client.force_login(world.users[role])
        response = client.get(path)
        after = _snapshot(query)
        assert response.status_code < 500, f"{role} GET {path}: {response.status_code}"
        if before != after:
            writes.append(f"{role} GET {path}: " + "; ".join(_changed(before, after)))
        before = after
    assert not writes, "\n".join(writes)
