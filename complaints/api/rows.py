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

The list reads the category and department as ids and names their codes from this process's
copy of the reference data (`codes()`, complaints/services/reference_cache.py), so the page's
statement joins the customer and the assignee only: two joins on small tables fewer cut
PostgreSQL's planning of each page from ~1.3 ms to ~0.4 ms at 5 M (the plan is the same).
Without a copy (no shared cache) the codes are joined in as before.
"""

from collections.abc import Iterable
from datetime import datetime
from functools import partial

from django.db.models import QuerySet
from django.utils import timezone

from ..messages import source_text
from ..models import OPEN_STATUSES, Category, Department
from ..privacy import RULES
from ..services import reference_cache
from .export import COLUMNS

# (key, values() path) of the plain columns, in the serializer's order; the customer, times
# and is_overdue are handled by kind.
PATHS = tuple(dict.fromkeys([*(c.path for c in COLUMNS), "status", "due_at"]))
_PLAN = tuple((c.name, c.path, c.kind, c.group) for c in COLUMNS)
_CUSTOMER = tuple((c.name, c.path, c.kind) for c in COLUMNS if c.group == "customer")
_OPEN = frozenset(OPEN_STATUSES)


# The coded relations: (key, joined path, id column, model).
CODED = (
    ("category", "category__code", "category_id", Category),
    ("department", "department__code", "department_id", Department),
)
_BY_ID = {path: column for _key, path, column, _model in CODED}
CODED_PATHS = tuple(_BY_ID.get(path, path) for path in PATHS)


class Codes:
    """Every category's and department's code by id, and the id by code (both tables are
    small reference data; a copy per process, replaced when either changes)."""

    def __init__(self, by_model: dict):
        self.by_model = by_model  # model -> {id: code}
        self.ids = {
            model: {code: pk for pk, code in codes.items()} for model, codes in by_model.items()
        }

    @classmethod
    def load(cls) -> "Codes":
        return cls({model: dict(model.objects.values_list("pk", "code")) for *_, model in CODED})

    def id_of(self, model, code: str) -> int | None:
        """The id of `code`, or None when this copy does not know it (ask the database:
        the row may be newer than the copy)."""
        return self.ids[model].get(code)


def codes() -> Codes | None:
    """This process's copy of the codes, or None when no copy may be kept (no shared cache,
    Redis unavailable, or this transaction changed reference data): then join them."""
    if not reference_cache.shared():
        return None
    return reference_cache.get("category-department-codes", Codes.load, uncached=lambda: None)


def values(queryset: QuerySet, *, coded: bool = False) -> QuerySet:
    """The queryset's rows as the dicts `complaint_json` formats (filters and order kept);
    `coded`: the category and department as ids (complaint_json's `codes` names them)."""
    return queryset.values(*(CODED_PATHS if coded else PATHS))


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


# The plan of complaint_json: each key first takes its column's value as it is (in the
# serializer's order, one dict comprehension; the nested customer at its first column), then
# the keys whose value is formatted are overwritten in place, which keeps the key order.
_PAIRS = tuple(
    dict.fromkeys((c.group or c.name, c.path) for c in COLUMNS if c.group == "" or c.name == "name")
)
_TIMES = tuple(c.name for c in COLUMNS if c.kind == "time")
_MESSAGES = tuple((c.name, c.path) for c in COLUMNS if c.kind == "message")
_OVERDUE = tuple((c.name, c.path) for c in COLUMNS if c.kind == "overdue")
_RAW, _CLEAR = object(), object()


def complaint_json(
    rows: Iterable[dict], *, pii: bool, now: datetime, codes: Codes | None = None
) -> list[dict]:
    """Each row of `values()` as ComplaintSerializer(row's complaint).data would give it;
    rows of `values(coded=True)` need `codes`.

    The rules above (privacy.shown for the customer, Complaint.is_overdue) written out once
    per page rather than as a few function calls per value (~3,000 values a page)."""
    if codes is not None:
        rows = _named(rows, codes)
    zone = timezone.get_current_timezone()
    pairs, times, messages, overdue, open_ = _PAIRS, _TIMES, _MESSAGES, _OVERDUE, _OPEN
    # Per customer column: as stored (text), `value or ""` (personal, readable) or the
    # privacy rule that masks it (privacy.mask: the rule applied to `value or ""`).
    shows = tuple(
        (name, path, _RAW if kind == "text" else _CLEAR if pii else RULES[kind].py)
        for name, path, kind in _CUSTOMER
    )
    out = []
    append = out.append
    for row in rows:
        item = {key: row[path] for key, path in pairs}
        for name in times:
            value = item[name]
            if value is not None:
                text = value.astimezone(zone).isoformat()
                item[name] = text[:-6] + "Z" if text.endswith("+00:00") else text
        for name, path in messages:  # a stored system text: its English text
            item[name] = source_text(row[path])
        for name, path in overdue:
            value = row[path]
            item[name] = row["status"] in open_ and value is not None and value < now
        customer = {}
        for name, path, show in shows:
            value = row[path]
            if show is _RAW:
                customer[name] = value
            elif show is _CLEAR:
                customer[name] = value or ""
            else:
                customer[name] = show(value or "")
        item["customer"] = customer
        append(item)
    return out


def _codes_of(model, pks: set) -> dict:
    return dict(model.objects.filter(pk__in=pks).values_list("pk", "code"))


def _named(rows: Iterable[dict], codes: Codes) -> list[dict]:
    """The rows with each category and department id replaced by its code under the joined
    path's name; ids this copy does not know (made after it was loaded) are read in one
    query."""
    rows = list(rows)
    for _key, path, column, model in CODED:
        known = reference_cache.with_missing(
            codes.by_model[model], (row[column] for row in rows), partial(_codes_of, model)
        )
        for row in rows:
            value = row[column]
            row[path] = None if value is None else known.get(value)
    return rows
