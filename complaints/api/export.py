"""Streaming export of complaints: `GET complaints/export/?format=csv|jsonl` with the list's
filters, ordering, department restriction and masking, in one response of any size.

The columns are the list serializer's (ComplaintSerializer); CSV flattens the customer into
customer_name, customer_phone, ... and JSON Lines keeps it nested. Times are ISO 8601 in
settings.TIME_ZONE, as the list gives them. Without the pii:read scope the customer's name,
phone and email are masked by complaints/privacy.py (one rule, in Python and in SQL).

Two ways to the same bytes (the tests compare them):

- PostgreSQL: the filtered queryset's own SQL, with formatting and masking added as
  expressions, bound with psycopg's client-side quoting and run as one
  `COPY (SELECT ...) TO STDOUT`. Rows go from the server to the client in ~128 KB chunks:
  memory stays flat and no Python code touches a value. It runs on the request's connection
  (so it sees the request's transaction and its settings) inside a transaction that sets
  TimeZone and jit for itself only and is rolled back at the end (nothing is written).
- Any other database (SQLite in development): a chunked `values_list(...).iterator()`
  formatted with csv.writer / json.dumps.

The stream is a plain (synchronous) generator: under WSGI (gunicorn) it is sent as it is
produced. Under ASGI Django would collect a synchronous iterator in memory first.
"""

import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections, transaction
from django.db.models import (
    BooleanField,
    Case,
    ExpressionWrapper,
    F,
    Func,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer

from ..messages import source_text
from ..models import OPEN_STATUSES, Complaint
from ..privacy import MaskSQL, mask
from .auth import caller

FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "jsonl": ("application/x-ndjson; charset=utf-8", "jsonl"),
}
BOM = "\ufeff".encode()  # lets Excel open the UTF-8 CSV with Chinese text correctly
CHUNK_BYTES = 128 * 1024
ITERATOR_ROWS = 2000
JSON_SEPARATORS = (", ", " : ")  # what PostgreSQL's json_build_object writes


@dataclass(frozen=True)
class Column:
    name: str  # key in the list's JSON
    path: str  # ORM path of the value
    kind: str = "text"  # text, message, int, bool, time, name, phone, email, overdue
    group: str = ""  # "customer": nested in JSON, customer_<name> in CSV

    @property
    def header(self) -> str:
        return f"{self.group}_{self.name}" if self.group else self.name


# The list serializer's fields in its order (a test keeps the two in step).
COLUMNS = [
    Column("reference", "reference"),
    Column("status", "status"),
    Column("severity", "severity", "int"),
    Column("severity_reason", "severity_reason", "message"),
    Column("channel", "channel"),
    Column("received_at", "received_at", "time"),
    Column("subject", "subject"),
    Column("description", "description"),
    Column("desired_outcome", "desired_outcome"),
    Column("item_ref", "item_ref"),
    Column("category", "category__code"),
    Column("department", "department__code"),
    Column("assignee", "assignee__username"),
    Column("name", "customer__name", "name", "customer"),
    Column("phone", "customer__phone", "phone", "customer"),
    Column("email", "customer__email", "email", "customer"),
    Column("external_id", "customer__external_id", "text", "customer"),
    Column("tier", "customer__tier", "text", "customer"),
    Column("external_ref", "external_ref"),
    Column("ack_due_at", "ack_due_at", "time"),
    Column("response_due_at", "response_due_at", "time"),
    Column("resolve_due_at", "resolve_due_at", "time"),
    Column("acknowledged_at", "acknowledged_at", "time"),
    Column("first_response_at", "first_response_at", "time"),
    Column("resolved_at", "resolved_at", "time"),
    Column("closed_at", "closed_at", "time"),
    Column("is_overdue", "due_at", "overdue"),
    Column("deadline_provisional", "deadline_provisional", "bool"),
    Column("created_at", "created_at", "time"),
    Column("updated_at", "updated_at", "time"),
]
HEADER = [column.header for column in COLUMNS]


# -- the view --------------------------------------------------------------------------------


class ExportNegotiation(DefaultContentNegotiation):
    """`?format=` names the file type here, not a DRF renderer (which would answer 404 for
    csv). The file itself is a StreamingHttpResponse; errors are rendered as JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


# Options of the `export` action on ComplaintViewSet.
EXPORT_ACTION = {
    "url_path": "export",
    "renderer_classes": [JSONRenderer],
    "content_negotiation_class": ExportNegotiation,
    "pagination_class": None,
}


def export_parameters() -> list[OpenApiParameter]:
    """The OpenAPI `format` parameter of a streamed export (complaints, follow-ups)."""
    return [
        OpenApiParameter(
            "format",
            OpenApiTypes.STR,
            OpenApiParameter.QUERY,
            enum=list(FORMATS),
            default="csv",
            description="csv (text/csv) or jsonl (application/x-ndjson).",
        )
    ]


def export_responses(forbidden: str) -> dict:
    """The OpenAPI responses of a streamed export."""
    return {
        (200, "text/csv"): OpenApiResponse(
            OpenApiTypes.STR, description="CSV with a header line (`?format=csv`)."
        ),
        (200, "application/x-ndjson"): OpenApiResponse(
            OpenApiTypes.STR, description="One JSON object per line (`?format=jsonl`)."
        ),
        400: OpenApiResponse(description="Unknown format or invalid filter values."),
        401: OpenApiResponse(description="No or invalid credentials."),
        403: OpenApiResponse(description=forbidden),
    }


export_schema = extend_schema(
    summary="Export complaints (CSV or JSON Lines, streamed)",
    description=(
        "All complaints matching the list's filters in one streamed file, without pages. "
        "CSV (UTF-8 with BOM, every value quoted, empty for null) has the list's columns with "
        "the customer flattened (customer_name, customer_phone, ...); free text starting "
        "with = + - @ (a spreadsheet formula) gets a leading apostrophe. JSON Lines has one "
        "complaint per line as the list gives it. Times are ISO 8601 with the offset of the "
        "server's time zone. Without the pii:read scope the customer's name, phone and email "
        "are masked. A key restricted to a department exports that department's complaints."
    ),
    filters=True,
    parameters=export_parameters(),
    responses=export_responses("Missing scope, or another department's data."),
)


def export_response(view, request, format: str | None = None) -> StreamingHttpResponse:
    """The `export` action: check the request, then stream the file."""
    fmt = format or request.query_params.get("format") or "csv"
    if fmt not in FORMATS:
        message = _('Unknown export format "%(format)s": use csv or jsonl.') % {"format": fmt}
        raise serializers.ValidationError({"format": [message]})
    who = caller(request)
    restricted = who.client.department if who.client else None
    wanted = request.query_params.get("department")
    if restricted and wanted and wanted != restricted.code:
        raise PermissionDenied(_("This key may only read its own department's complaints."))
    # The list's filter backends: the filterset (400 on invalid values) and the ordering.
    queryset = view.filter_queryset(who.visible(Complaint.objects.all()))
    now = timezone.now()
    content_type, extension = FORMATS[fmt]
    response = StreamingHttpResponse(
        stream(queryset, fmt, pii=who.has_scope("pii:read"), now=now),
        content_type=content_type,
    )
    day = timezone.localtime(now, ZoneInfo(settings.TIME_ZONE)).date().isoformat()
    response["Content-Disposition"] = f'attachment; filename="complaints-{day}.{extension}"'
    response["Cache-Control"] = "private, no-store"  # personal data
    return response


# -- the rows ---------------------------------------------------------------------------------


def stream(queryset: QuerySet, fmt: str, *, pii: bool, now: datetime) -> Iterator[bytes]:
    """The export of `queryset` (filtered and ordered) as chunks of bytes."""
    queryset = without_redundant_distinct(with_tiebreak(queryset))
    connection = connections[queryset.db]
    if connection.vendor == "postgresql" and _has_copy():
        return copy_chunks(queryset, fmt, pii=pii, now=now)
    return python_chunks(queryset, fmt, pii=pii, now=now)


def with_tiebreak(queryset: QuerySet) -> QuerySet:
    """A total order (the pk after the chosen order, same direction): stable output."""
    ordering = list(queryset.query.order_by) or ["-received_at"]
    last = ordering[-1]
    if last in ("pk", "-pk", "id", "-id"):
        return queryset.order_by(*ordering)
    descending = isinstance(last, str) and last.startswith("-")
    return queryset.order_by(*ordering, "-pk" if descending else "pk")


def without_redundant_distinct(queryset: QuerySet) -> QuerySet:
    """django-filter's MultipleChoiceFilter (status, severity, channel) asks for DISTINCT.
    Filters on the complaint's own columns and forward foreign keys cannot repeat a row, and
    DISTINCT over every exported column would make PostgreSQL sort the whole result (and
    compare whole descriptions) before sending the first row."""
    query = queryset.query
    if not query.distinct or query.distinct_fields:
        return queryset
    for join in query.alias_map.values():
        field = getattr(join, "join_field", None)
        if field is not None and (field.one_to_many or field.many_to_many):
            return queryset  # a multi-valued join: DISTINCT is needed
    queryset = queryset.all()
    queryset.query.distinct = False
    return queryset


def _has_copy() -> bool:
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return is_psycopg3  # psycopg 2 has copy_expert() instead of cursor.copy()


def csv_header() -> bytes:
    buffer = io.StringIO()
    _csv_writer(buffer).writerow(HEADER)
    return BOM + buffer.getvalue().encode()


def _csv_writer(buffer):
    # Every value quoted, null as an empty unquoted field: what COPY's FORCE_QUOTE * writes.
    return csv.writer(buffer, quoting=csv.QUOTE_NOTNULL, lineterminator="\n")


# -- PostgreSQL: COPY (SELECT ...) TO STDOUT ---------------------------------------------------


class OnceTemplate(Func):
    """SQL written with {x} standing for the (parameter-free) argument, as often as needed."""

    sql = ""
    output_field = TextField()

    def as_sql(self, compiler, connection, **extra):
        argument, params = compiler.compile(self.source_expressions[0])
        if params:
            raise ValueError(f"{type(self).__name__} takes a column, not parameters")
        return self.sql.replace("{x}", argument), ()


ISO_SQL = (
    "replace(replace(to_char({x}, 'YYYY-MM-DD\"T\"HH24:MI:SS.USTZH:TZM'), '.000000', ''), "
    "'+00:00', 'Z')"
)


class IsoDateTime(Func):
    """2026-03-10T10:00:00.123456+08:00 in the session time zone (microseconds only when not
    zero, Z for UTC): what DRF's DateTimeField.to_representation writes."""

    template = ISO_SQL.replace("{x}", "%(expressions)s")
    output_field = TextField()


# Times: to_char() with its two replace() calls was 40 % of the export's server time (about
# 0.5 us a value, ten values a row). A timestamptz's own text output in the session's zone,
# with DateStyle ISO, is `2026-03-10 10:00:00.123456+08`: where the zone's offset is a
# whole, non-zero number of hours, a value with six digits of microseconds or none becomes
# the ISO form by putting the T in and ":00" after the offset. The text output cuts trailing
# zeros from the microseconds: whether there are any is read from the value itself, rounded
# to 0 and to 5 digits (integer arithmetic, no time zone), so the text is made once. Those
# values and times outside FAST_TIMES go the exact to_char way. The zone is checked once per
# process (whole_hour_zone).
FAST_TIMES = ("2000-01-01 00:00:00+00", "2100-01-01 00:00:00+00")


class FastIso(OnceTemplate):
    """ISO_SQL of a time for a zone that whole_hour_zone() accepted (the same text)."""

    sql = (
        f"CASE WHEN {{x}} >= '{FAST_TIMES[0]}' AND {{x}} < '{FAST_TIMES[1]}' "
        "AND ({x}::timestamptz(0) = {x} OR {x}::timestamptz(5) <> {x}) "
        f"THEN replace({{x}}::text, ' ', 'T') || ':00' ELSE {ISO_SQL} END"
    )


_WHOLE_HOUR_ZONES: dict[tuple[str, str], bool] = {}


def whole_hour_zone(alias: str, zone: str) -> bool:
    """Is the offset of `zone` a whole, non-zero number of hours all through FAST_TIMES (by
    the database's own time zone data, sampled daily: an offset lasts months)? Asked once
    per process and zone (some 50 ms)."""
    key = (alias, zone)
    if key not in _WHOLE_HOUR_ZONES:
        with connections[alias].cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(bool_and(o <> interval '0' AND date_trunc('hour', o) = o), "
                "false) FROM (SELECT (d AT TIME ZONE %s) - (d AT TIME ZONE 'UTC') AS o "
                "FROM generate_series(%s::timestamptz, %s::timestamptz, interval '1 day') d"
                ") offsets",
                [zone, *FAST_TIMES],
            )
            _WHOLE_HOUR_ZONES[key] = bool(cursor.fetchone()[0])
    return _WHOLE_HOUR_ZONES[key]


# A CSV cell starting with one of these is run as a formula by spreadsheet programs
# (CSV injection): free text gets a leading apostrophe in CSV (JSON Lines is left exact).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Phones are normalised digits, not free text.
FORMULA_GUARDED = ("text", "message", "name", "email")


# The test is on the first character's code (ascii(): one call, an integer compared, nothing
# allocated; "" gives 0, NULL stays NULL) rather than left({x}, 1) IN (...) texts, which built
# a one-character text and compared it six times per cell: a third of the export's server time
# went to this guard on its 17 free-text columns.
FORMULA_CODES = tuple(ord(c) for c in FORMULA_START)
FORMULA_SAFE_SQL = (
    f"CASE WHEN ascii({{x}}) IN ({', '.join(map(str, FORMULA_CODES))}) "
    "THEN chr(39) || {x} ELSE {x} END"
)


def formula_safe(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class MessageText(OnceTemplate):
    """A stored message's English text (complaints.messages.with_text); plain text as it is."""

    sql = "COALESCE({x} ->> 'text', {x} #>> '{}')"


class BoolText(OnceTemplate):
    sql = "CASE WHEN {x} THEN 'true' ELSE 'false' END"


def _sql_value(column: Column, *, pii: bool, now: datetime, as_json: bool, fast_times=False):
    value = F(column.path)
    kind = column.kind
    if kind == "time":
        return FastIso(value) if fast_times else IsoDateTime(value)
    if kind == "message":
        return MessageText(value)
    if kind in ("name", "phone", "email") and not pii:
        return MaskSQL(kind, value)  # privacy.py: the same rule as in Python
    if kind == "overdue":
        overdue = Q(status__in=OPEN_STATUSES, due_at__isnull=False, due_at__lt=now)
        if as_json:
            return ExpressionWrapper(overdue, output_field=BooleanField())
        return Case(When(overdue, then=Value("true")), default=Value("false"))
    if kind == "bool" and not as_json:
        return BoolText(value)
    return value  # text; int and bool as such in JSON, as text by COPY in CSV


def _json_object_sql(pairs) -> str:
    """json_build_object('key', t."c0", ...) over the columns of the subquery t."""
    arguments = []
    for key, value in pairs:
        inner = _json_object_sql(value) if isinstance(value, list) else value
        arguments.append(f"'{key}', {inner}")  # keys: the constant names in COLUMNS
    return "json_build_object(" + ", ".join(arguments) + ")"


def copy_sql(queryset: QuerySet, fmt: str, *, pii: bool, now: datetime) -> str | None:
    """The COPY statement of the export (all values bound), None when nothing can match."""
    as_json = fmt == "jsonl"
    fast_times = whole_hour_zone(queryset.db, settings.TIME_ZONE)
    values = [
        _sql_value(c, pii=pii, now=now, as_json=as_json, fast_times=fast_times) for c in COLUMNS
    ]
    if as_json:

        def select(refs):
            pairs, customer = [], []
            for ref, column in zip(refs, COLUMNS, strict=True):
                if column.group:
                    if not customer:
                        pairs.append((column.group, customer))
                    customer.append((column.name, ref))
                else:
                    pairs.append((column.name, ref))
            return _json_object_sql(pairs)

        # One json text per line. CSV with delimiter and quote characters that json text
        # never contains raw (it escapes every control character) leaves each value exactly
        # as PostgreSQL wrote it; the text format would double every backslash.
        options = "FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02'"
        return copy_statement(queryset, values, select, options, merged=True)
    guarded = [c.kind in FORMULA_GUARDED for c in COLUMNS]
    return csv_copy_sql(queryset, values, guarded, merged=True)


def csv_copy_sql(
    queryset: QuerySet, values: list, guarded: list[bool], *, merged: bool = False
) -> str | None:
    """COPY of these value expressions as CSV (every value quoted, NULL empty), the free-text
    ones (`guarded`) with the spreadsheet-formula guard. Also used by the admin's export."""

    def select(refs):
        return ", ".join(
            FORMULA_SAFE_SQL.replace("{x}", ref) if guard else ref
            for ref, guard in zip(refs, guarded, strict=True)
        )

    return copy_statement(queryset, values, select, "FORMAT csv, FORCE_QUOTE *", merged=merged)


def copy_statement(
    queryset: QuerySet, values: list, select, options: str, *, merged: bool = False
) -> str | None:
    """`COPY (SELECT select(refs) FROM (<queryset with these values>) t ORDER BY ...) TO
    STDOUT WITH (options)`, all values bound; None when nothing can match. `select` turns the
    subquery's column references (t."c0", ...) into the selected SQL. `merged`: the subquery
    left unsorted (see below)."""
    connection = connections[queryset.db]
    quote_name = connection.ops.quote_name
    # The row is built over a subquery of its values, ordered by its sort keys (k0, ...).
    order = []
    keys = {}
    for index, item in enumerate(queryset.query.order_by):
        if not isinstance(item, str):
            order = None  # an expression: the subquery's own order stands
            break
        keys[f"k{index}"] = F(item.lstrip("-"))
        order.append(f"t.{quote_name(f'k{index}')}" + (" DESC" if item[0] == "-" else ""))
    columns = {f"c{index}": value for index, value in enumerate(values)}
    refs = [f"t.{quote_name(name)}" for name in columns]
    rows = queryset.values(**columns, **keys)
    # Merged: the subquery has no ORDER BY of its own (only the statement around it sorts),
    # so PostgreSQL merges it into that statement and, in a parallel plan, formats each row
    # (times, formula guard, JSON) in the worker that joins it, before the sort. With its own
    # ORDER BY the subquery is sorted first and every row is formatted after the Gather Merge,
    # in the one process that also sends them. But merged, a value referred to several times
    # (the formula guard, the admin's labels and XLSX cells) is computed each time. Measured
    # at 5 M (200,000 rows, same bytes): the API's CSV 1.63 -> 1.38 s and JSON Lines 3.29 ->
    # 2.24 s; the admin's CSV 1.40 -> 1.47 s and XLSX 2.2 -> 3.0 s, so the admin keeps the
    # ordered subquery. An export in index order streams either way. Never merged: DISTINCT,
    # a slice (its LIMIT needs the order), or an ordering by an expression.
    if merged and order and not rows.query.distinct and not rows.query.is_sliced:
        rows = rows.order_by()
    wrap = f"SELECT {select(refs)} FROM (%s) t"  # noqa: S608 (constants and quoted names)
    if order:
        wrap += " ORDER BY " + ", ".join(order)
    try:
        sql, params = rows.query.get_compiler(using=queryset.db).as_sql()
    except EmptyResultSet:
        return None
    # COPY takes no parameters: psycopg binds them client-side with its literal quoting.
    bound = wrap.replace("%s", connection.ops.compose_sql(sql, params), 1)
    return f"COPY ({bound}) TO STDOUT WITH ({options})"


def copy_chunks(queryset: QuerySet, fmt: str, *, pii: bool, now: datetime) -> Iterator[bytes]:
    if fmt == "csv":
        yield csv_header()
    statement = copy_sql(queryset, fmt, pii=pii, now=now)
    if statement is None:
        return
    yield from copy_stream(queryset.db, statement, time_zone=settings.TIME_ZONE)


def copy_stream(alias: str, statement: str, *, time_zone: str, counter=None) -> Iterator[bytes]:
    """Run a COPY ... TO STDOUT and yield its output in chunks of ~CHUNK_BYTES, the bytes as
    PostgreSQL wrote them (no decoding). `counter` (a one-item list) counts the rows
    (PostgreSQL sends one message per row)."""
    buffer = bytearray()
    rows = 0
    with _copy(alias, statement, time_zone=time_zone) as copy:
        # libpq hands over one message per row: this loop is the only Python per row, so it
        # calls read() directly (no generator in between) and only appends.
        read = copy.read
        while data := read():
            buffer += data
            rows += 1
            if len(buffer) >= CHUNK_BYTES:
                if counter is not None:
                    counter[0] = rows
                yield bytes(buffer)
                buffer.clear()
    if counter is not None:
        counter[0] = rows
    if buffer:
        yield bytes(buffer)


def copy_rows(alias: str, statement: str, *, time_zone: str) -> Iterator[memoryview]:
    """Run a COPY ... TO STDOUT on the request's connection and yield each row's data."""
    with _copy(alias, statement, time_zone=time_zone) as copy:
        yield from copy


@contextmanager
def _copy(alias: str, statement: str, *, time_zone: str):
    """The psycopg Copy of a COPY ... TO STDOUT on the request's connection, in a
    transaction of its own that is rolled back at the end."""
    connection = connections[alias]
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        # For this transaction only: times in the given zone; no JIT compilation, which
        # costs most of a second before the first row and gains nothing on a plain scan.
        # DateStyle ISO: the text output of times that FastIso relies on.
        cursor.execute(
            "SELECT set_config('TimeZone', %s, true), set_config('jit', 'off', true), "
            "set_config('DateStyle', 'ISO', true)",
            [time_zone],
        )
        with cursor.cursor.copy(statement) as copy:
            yield copy
        transaction.set_rollback(True, using=alias)  # read only; ends the SET LOCALs


# -- other databases: the same rows formatted in Python ---------------------------------------


def iso_datetime(value: datetime | None, zone: ZoneInfo) -> str | None:
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def python_rows(queryset: QuerySet, *, pii: bool, now: datetime) -> Iterator[list]:
    """Each complaint as a list of values in COLUMNS order (JSON types)."""
    zone = ZoneInfo(settings.TIME_ZONE)
    status_index = [c.path for c in COLUMNS].index("status")
    paths = [c.path for c in COLUMNS]
    for row in queryset.values_list(*paths).iterator(chunk_size=ITERATOR_ROWS):
        out = []
        for column, value in zip(COLUMNS, row, strict=True):
            kind = column.kind
            if kind == "time":
                value = iso_datetime(value, zone)
            elif kind in ("name", "phone", "email") and not pii:
                value = mask(kind, value)
            elif kind == "overdue":
                value = row[status_index] in OPEN_STATUSES and value is not None and value < now
            elif kind == "message":
                value = source_text(value)
            out.append(value)
        yield out


def python_chunks(queryset: QuerySet, fmt: str, *, pii: bool, now: datetime) -> Iterator[bytes]:
    buffer = io.StringIO()
    if fmt == "csv":
        yield csv_header()
        writer = _csv_writer(buffer)

        def write(values):
            writer.writerow(
                [
                    ("true" if v else "false")
                    if isinstance(v, bool)
                    else (formula_safe(v) if column.kind in FORMULA_GUARDED else v)
                    if v is None or isinstance(v, str)
                    else str(v)
                    for column, v in zip(COLUMNS, values, strict=True)
                ]
            )
    else:

        def write(values):
            obj, customer = {}, {}
            for column, value in zip(COLUMNS, values, strict=True):
                if column.group:
                    obj.setdefault(column.group, customer)[column.name] = value
                else:
                    obj[column.name] = value
            buffer.write(json.dumps(obj, ensure_ascii=False, separators=JSON_SEPARATORS))
            buffer.write("\n")

    for values in python_rows(queryset, pii=pii, now=now):
        write(values)
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


# -- compensations -----------------------------------------------------------------------------

# The compensation API's fields in its order (a test keeps the two in step).
COMPENSATION_COLUMNS = [
    Column("id", "id", "int"),
    Column("complaint", "complaint__reference"),
    Column("department", "complaint__department__code"),
    Column("kind", "kind"),
    Column("amount", "amount", "money"),
    Column("currency", "currency"),
    Column("is_estimate", "kind", "estimate"),
    Column("description", "description"),
    Column("status", "status"),
    Column("proposed_by", "proposed_by__username"),
    Column("proposed_at", "proposed_at", "time"),
    Column("decided_by", "decided_by__username"),
    Column("decided_at", "decided_at", "time"),
    Column("decision_note", "decision_note"),
    Column("fulfilled_by", "fulfilled_by__username"),
    Column("fulfilled_at", "fulfilled_at", "time"),
    Column("payout_reference", "payout_reference"),
    Column("cancelled_at", "cancelled_at", "time"),
    Column("cancel_reason", "cancel_reason"),
    Column("incident", "incident_remedy__incident__code"),
    Column("created_at", "created_at", "time"),
    Column("updated_at", "updated_at", "time"),
    Column("version", "version", "int"),
]


def compensation_stream(queryset: QuerySet, fmt: str) -> Iterator[bytes]:
    """Compensations (filtered, ordered, visible to the caller) as CSV or JSON Lines chunks;
    a chunked iterator keeps memory flat at any size. Amounts are exact decimal strings."""
    from ..models import MONETARY_KINDS

    zone = ZoneInfo(settings.TIME_ZONE)
    paths = [c.path for c in COMPENSATION_COLUMNS]
    buffer = io.StringIO()
    writer = _csv_writer(buffer)
    if fmt == "csv":
        yield BOM + _header_line(writer, buffer)
    for row in queryset.values_list(*paths).iterator(chunk_size=ITERATOR_ROWS):
        values = []
        for column, value in zip(COMPENSATION_COLUMNS, row, strict=True):
            if column.kind == "time":
                value = iso_datetime(value, zone)
            elif column.kind == "money":
                value = f"{value:.2f}"
            elif column.kind == "estimate":
                value = value not in MONETARY_KINDS
            values.append(value)
        if fmt == "csv":
            writer.writerow(
                [
                    ("true" if v else "false")
                    if isinstance(v, bool)
                    else formula_safe(v)
                    if isinstance(v, str) and column.kind == "text"
                    else v
                    if v is None or isinstance(v, str)
                    else str(v)
                    for column, v in zip(COMPENSATION_COLUMNS, values, strict=True)
                ]
            )
        else:
            obj = {c.name: v for c, v in zip(COMPENSATION_COLUMNS, values, strict=True)}
            buffer.write(json.dumps(obj, ensure_ascii=False, separators=JSON_SEPARATORS))
            buffer.write("\n")
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def _header_line(writer, buffer) -> bytes:
    writer.writerow([c.header for c in COMPENSATION_COLUMNS])
    line = buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    return line
