"""Set-wise writes, with the history records django-simple-history would write.

The one place for bulk writes of the apps:
- `insert_rows`: plain multi-row INSERTs (upserts) of tuples, for the 100,000-row paths
  (sales import, points recomputation): `bulk_create` spends most of its time turning each
  model instance into SQL parameters.
- `history_from_rows`: history records copied from rows already in their table (a field added
  to the model is a field in its history).
- `update_rows`: fields of saved instances written in batches, with history records.
- `collector_paused`: Python's garbage collector paused while 100,000 objects are built.

Standard SQL that PostgreSQL and SQLite (3.24+) both accept, batched to the backend's
parameter limit. Model instances are created with simple-history's `bulk_create_with_history`.
"""

import gc
from collections.abc import Iterable, Sequence
from contextlib import contextmanager

from django.db import connection
from django.utils import timezone


def insert_rows(
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence],
    *,
    conflict: Sequence[str] = (),
    conflict_where: str = "",
    update: Sequence[str] = (),
    returning: Sequence[str] = (),
) -> int | list[tuple]:
    """INSERT `rows` (tuples in `columns` order) into `table`; with `conflict` and `update`,
    a row whose `conflict` columns already exist updates those `update` columns instead
    (`conflict_where` names the predicate of a partial unique index). With `returning`,
    the list of those columns of every row written; otherwise the number of rows."""
    quote = connection.ops.quote_name
    head = f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) VALUES "
    tail = ""
    if conflict:
        assignments = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in update)
        target = ", ".join(quote(c) for c in conflict)
        where = f" WHERE {conflict_where}" if conflict_where else ""
        tail = f" ON CONFLICT ({target}){where} DO UPDATE SET {assignments}"
    if returning:
        tail += f" RETURNING {', '.join(quote(c) for c in returning)}"
    placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
    limit = connection.features.max_query_params or 100_000
    batch = max(1, min(2000, limit // len(columns)))
    written, returned, chunk = 0, [], []

    def flush(cursor):
        cursor.execute(head + ", ".join([placeholder] * len(chunk)) + tail, _flat(chunk))
        if returning:
            returned.extend(cursor.fetchall())
        return len(chunk)

    with connection.cursor() as cursor:
        for row in rows:
            chunk.append(row)
            if len(chunk) == batch:
                written += flush(cursor)
                chunk = []
        if chunk:
            written += flush(cursor)
    return returned if returning else written


def _flat(chunk):
    return [value for row in chunk for value in row]


# Above this many keys an IN list costs more than reading the column and filtering in Python.
IN_LIST_LIMIT = 5000


def narrowed(queryset, field: str, values):
    """`queryset` filtered to `field` in `values`, unless there are too many to list."""
    values = set(values)
    return queryset.filter(**{f"{field}__in": values}) if len(values) <= IN_LIST_LIMIT else queryset


@contextmanager
def collector_paused():
    """Python's cyclic garbage collector paused while a step builds 100,000 small objects that
    hold no reference cycles (rows of a file, a what-if's grades): each collection the allocations
    trigger scans every live object again, and those cost a what-if 20-30 % of its time. Resumed
    afterwards (if it was running); the objects are freed by reference counting as usual."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()


CREATED, CHANGED = "+", "~"


def update_rows(model, objs, fields, *, batch_size=2000, user=None) -> int:
    """Write `fields` of `objs` (saved instances) in batches, with history records.

    On PostgreSQL one `UPDATE … FROM (VALUES …)` per batch, which stays fast
    for 100,000 rows where `bulk_update`'s CASE expressions do not, and the history
    records copied by `history_from_rows`.
    """
    objs = list(objs)
    if not objs:
        return 0
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objs, fields, batch_size=batch_size)
        model.history.bulk_history_create(objs, batch_size=batch_size, update=True, default_user=user)
    else:
        meta = model._meta
        concrete = [meta.get_field(name) for name in fields]
        pk = meta.pk
        columns = [pk, *concrete]
        casts = ", ".join(f"%s::{f.db_type(connection)}" for f in columns)
        names = ", ".join(connection.ops.quote_name(f.column) for f in columns)
        sets = ", ".join(
            f"{connection.ops.quote_name(f.column)} = v.{connection.ops.quote_name(f.column)}"
            for f in concrete
        )
        table = connection.ops.quote_name(meta.db_table)
        with connection.cursor() as cursor:
            for start in range(0, len(objs), batch_size):
                batch = objs[start : start + batch_size]
                params = []
                for obj in batch:
                    for field in columns:
                        params.append(field.get_db_prep_save(getattr(obj, field.attname), connection))
                values = ", ".join([f"({casts})"] * len(batch))
                cursor.execute(
                    f"UPDATE {table} AS t SET {sets} FROM (VALUES {values}) AS v({names}) "
                    f"WHERE t.{connection.ops.quote_name(pk.column)} = v.{connection.ops.quote_name(pk.column)}",
                    params,
                )
        history_from_rows(model, [obj.pk for obj in objs], history_type=CHANGED, user=user)
    return len(objs)


def history_from_rows(model, ids, *, history_type: str, user=None, when=None) -> None:
    """Add a history record (`+` created, `~` changed) for each row `ids` of `model`, copied from
    the table by `INSERT … SELECT`, dated `when` (default: now).

    simple-history's `bulk_history_create` builds a Python object per row, which costs about
    a second per 10,000 rows; the publication's watch-list step writes that many. Copying rows
    just written costs a third of sending their values again (the sales import's 100,000).
    On PostgreSQL one statement takes the ids as an array; elsewhere they are listed in batches
    within the backend's parameter limit.
    """
    ids = list(ids)
    if not ids:
        return
    history = model.history.model
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in model._meta.concrete_fields)
    head = (
        f"INSERT INTO {qn(history._meta.db_table)} "
        f"({columns}, history_date, history_change_reason, history_type, history_user_id) "
        f"SELECT {columns}, %s, NULL, %s, %s FROM {qn(model._meta.db_table)} WHERE {qn(model._meta.pk.column)}"
    )
    stamp = connection.ops.adapt_datetimefield_value(when or timezone.now())
    fixed = [stamp, history_type, user.pk if user is not None else None]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"{head} = ANY(%s)", [*fixed, ids])
            return
        batch = max(1, (connection.features.max_query_params or 100_000) - len(fixed))
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            cursor.execute(f"{head} IN ({', '.join(['%s'] * len(chunk))})", [*fixed, *chunk])
