"""Plain multi-row INSERTs for the 100,000-row paths (sales import, points recomputation).

`bulk_create` spends most of its time turning each model instance into SQL
parameters; these paths write tuples straight away, in standard SQL that
PostgreSQL and SQLite (3.24+) both accept, batched to the backend's parameter limit.
"""

from collections.abc import Iterable, Sequence

from django.db import connection


def insert_rows(
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence],
    *,
    conflict: Sequence[str] = (),
    update: Sequence[str] = (),
) -> int:
    """INSERT `rows` (tuples in `columns` order) into `table`; with `conflict` and `update`,
    a row whose `conflict` columns already exist updates those `update` columns instead."""
    quote = connection.ops.quote_name
    head = f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) VALUES "
    tail = ""
    if conflict:
        assignments = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in update)
        tail = f" ON CONFLICT ({', '.join(quote(c) for c in conflict)}) DO UPDATE SET {assignments}"
    placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
    limit = connection.features.max_query_params or 100_000
    batch = max(1, min(2000, limit // len(columns)))
    written, chunk = 0, []
    with connection.cursor() as cursor:
        for row in rows:
            chunk.append(row)
            if len(chunk) == batch:
                cursor.execute(head + ", ".join([placeholder] * len(chunk)) + tail, _flat(chunk))
                written += len(chunk)
                chunk = []
        if chunk:
            cursor.execute(head + ", ".join([placeholder] * len(chunk)) + tail, _flat(chunk))
            written += len(chunk)
    return written


def _flat(chunk):
    return [value for row in chunk for value in row]


# Above this many keys an IN list costs more than reading the column and filtering in Python.
IN_LIST_LIMIT = 5000


def narrowed(queryset, field: str, values):
    """`queryset` filtered to `field` in `values`, unless there are too many to list."""
    values = set(values)
    return queryset.filter(**{f"{field}__in": values}) if len(values) <= IN_LIST_LIMIT else queryset
