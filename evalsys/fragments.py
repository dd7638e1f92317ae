"""A digest of exactly what a template fragment renders, for `{% cache %}`.

Whole-company pages (200 offices) spend most of their time rendering tables whose
figures are themselves cached or kept per quarter. A view passes `fragment_digest(...)`
of the values the fragment reads, and the template wraps the fragment in
`{% cache TIMEOUT "name" digest %}`: the same values (and language) give the same
HTML, any change to them another key. Model instances count with every field, the
attributes a view set on them and the related objects loaded with them; dataclasses,
dicts and sequences with their contents. A value whose representation names its memory
address only costs a cache miss, never a stale fragment.
"""

import dataclasses
import datetime
import hashlib
from decimal import Decimal

from django.db.models import Model
from django.utils import translation
from django.utils.functional import Promise

TIMEOUT = 3600
_PLAIN = frozenset({str, int, float, bool, type(None), Decimal, datetime.date, datetime.datetime})


def _canonical(value):
    if type(value) in _PLAIN:
        return value
    if isinstance(value, Model):
        attributes = {k: v for k, v in vars(value).items() if k != "_state"}
        return (
            "model",
            type(value).__qualname__,
            _canonical(attributes),
            _canonical(value._state.fields_cache),
        )
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return ("dataclass", type(value).__qualname__, _canonical(fields))
    if isinstance(value, dict):
        return ("dict", tuple((_canonical(k), _canonical(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("seq", tuple(_canonical(v) for v in value))
    if isinstance(value, Promise):
        return str(value)
    return value


def fragment_digest(*values) -> str:
    """A key for the fragment rendering `values` in the active language."""
    canonical = (translation.get_language(), _canonical(values))
    return hashlib.sha1(repr(canonical).encode()).hexdigest()
