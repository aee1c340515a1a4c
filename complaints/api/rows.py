"""The complaint JSON of the list (and of the intake's answer) without DRF fields per row.

`ComplaintSerializer` is the contract (field names, order, formats; the OpenAPI schema is
generated from it). Building its ~30 DRF fields and calling them for every row costs most of
a list page's time, so the list reads the columns with `.values()` (one query, the related
codes and the customer joined in) and formats them here with the same rules:

- times: ISO 8601 in the current time zone, microseconds only when not zero, `Z` for UTC
  (DRF's DateTimeField);
- the customer: nested, its name, phone and email masked by complaints/privacy.py for readers
  without pii:read (CustomerSerializer);
- `is_overdue`: open, due and past due at the request's `now` (Complaint.is_overdue);
- codes of category, department and the assignee's username, null when not set;
- stored system texts (`severity_reason`): their English text (messages.source_text).

tests/api/test_rows.py compares this output with the serializer's on varied data.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from ..messages import source_text
from ..models import OPEN_STATUSES
from ..privacy import shown
from .export import COLUMNS

# (key, values() path) of the plain columns, in the serializer's order; the customer, times
# and is_overdue are handled by kind.
PATHS = tuple(dict.fromkeys([*(c.path for c in COLUMNS), "status", "due_at"]))
_PLAN = tuple((c.name, c.path, c.kind, c.group) for c in COLUMNS)
_CUSTOMER = tuple((c.name, c.path, c.kind) for c in COLUMNS if c.group == "customer")
_OPEN = frozenset(OPEN_STATUSES)


def values(queryset: QuerySet) -> QuerySet:
    """The queryset's rows as the dicts `complaint_json` formats (filters and order kept)."""
    return queryset.values(*PATHS)


def instance_values(complaint) -> dict:
    """What `values()` gives for one complaint, from an instance whose related customer,
    category, department and assignee are loaded (e.g. the one the intake just saved): no
    query. Reading a relation that is not loaded would query it (correct, only slower)."""
    row = {}
    for path in PATHS:
        relation, _sep, column = path.partition("__")
        if not column:
            row[path] = getattr(complaint, path)
        elif getattr(complaint, f"{relation}_id") is None:
            row[path] = None
        else:
            row[path] = getattr(getattr(complaint, relation), column)
    return row


def iso(value: datetime | None, zone) -> str | None:
    """DRF DateTimeField.to_representation (ISO 8601) for an aware datetime."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def customer_json(get, *, pii: bool) -> dict:
    """The nested customer (CustomerSerializer): `get(name)` gives a column's value."""
    return {
        name: shown(kind, get(path), pii=pii) if kind != "text" else get(path)
        for name, path, kind in _CUSTOMER
    }


def complaint_json(rows: Iterable[dict], *, pii: bool, now: datetime) -> list[dict]:
    """Each row of `values()` as ComplaintSerializer(row's complaint).data would give it."""
    zone = timezone.get_current_timezone()
    out = []
    for row in rows:
        item = {}
        for name, path, kind, group in _PLAN:
            if group:
                if group not in item:
                    item[group] = customer_json(row.__getitem__, pii=pii)
                continue
            value = row[path]
            if kind == "time":
                value = iso(value, zone)
            elif kind == "overdue":
                value = row["status"] in _OPEN and value is not None and value < now
            elif kind == "message":  # a stored system text: its English text
                value = source_text(value)
            item[name] = value
        out.append(item)
    return out
