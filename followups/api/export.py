"""Streaming exports of follow-ups, surveys, repeat links and improvement actions:
`GET <list>/export/?format=csv|jsonl` with the list's filters, order (newest first), scope
and department isolation, in one response of any size; the admin's "Export selected as CSV"
actions write the same CSV.

The columns are the list serializers' (a test keeps them in step) plus, for surveys, the
address the invitation went to (`emailed_to`), masked by complaints/privacy.py for readers
without the personal-data right (API: the pii:read scope; admin: complaints.view_pii).
Values, quoting, times (ISO 8601 in settings.TIME_ZONE), the formula guard of free text and
the UTF-8 BOM are those of the complaint export (complaints/api/export.py).

Rows come from a chunked `values_list(...).iterator()` (a server-side cursor on PostgreSQL):
memory stays flat and no row costs a query of its own. An improvement action's complaints
(many to many) are read with one query per chunk of actions. The complaint export's COPY
path is built around the complaint's columns and customer masking in SQL; these tables are
small next to complaints (one to a few rows per complaint), so the iterator is enough.
"""

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from complaints.api.export import (
    BOM,
    CHUNK_BYTES,
    FORMATS,
    FORMULA_GUARDED,
    ITERATOR_ROWS,
    JSON_SEPARATORS,
    Column,
    _csv_writer,
    export_parameters,
    export_responses,
    formula_safe,
    iso_datetime,
)
from complaints.privacy import mask

from ..models import FollowUp, ImprovementAction, RepeatLink, SurveyInvitation
from ..models.followup import Status


@dataclass(frozen=True)
class Table:
    name: str  # file name: <name>-<day>.<csv|jsonl>
    model: type
    columns: list[Column]
    # A many-to-many column (kind "many"): (through model, its key to this table, the path
    # of the value in the other table), read once per chunk of rows.
    many: dict[str, tuple] = field(default_factory=dict)

    @property
    def header(self) -> list[str]:
        return [column.header for column in self.columns]


FOLLOWUPS = Table(
    "followups",
    FollowUp,
    [
        Column("id", "id", "int"),
        Column("complaint", "complaint__reference"),
        Column("round", "round", "int"),
        Column("kind", "kind"),
        Column("due_at", "due_at", "time"),
        Column("assignee", "assignee__username"),
        Column("method", "method"),
        Column("status", "status"),
        Column("is_overdue", "due_at", "overdue"),
        Column("required_before_close", "required_before_close", "bool"),
        Column("reached", "reached", "bool"),
        Column("solved", "solved", "bool"),
        Column("satisfaction", "satisfaction", "int"),
        Column("comment", "comment"),
        Column("done_at", "done_at", "time"),
        Column("created_at", "created_at", "time"),
    ],
)
SURVEYS = Table(
    "surveys",
    SurveyInvitation,
    [
        Column("id", "id", "int"),
        Column("complaint", "complaint__reference"),
        Column("followup", "followup_id", "int"),
        Column("created_at", "created_at", "time"),
        Column("expires_at", "expires_at", "time"),
        Column("answered_at", "used_at", "time"),
        Column("outcome_score", "outcome_score", "int"),
        Column("handling_score", "handling_score", "int"),
        Column("solved", "solved", "bool"),
        Column("comment", "comment"),
        Column("answered_language", "answered_language"),
        Column("emailed_to", "emailed_to", "email"),  # the customer's address: masked
    ],
)
REPEATS = Table(
    "repeats",
    RepeatLink,
    [
        Column("id", "id", "int"),
        Column("complaint", "complaint__reference"),
        Column("earlier", "earlier__reference"),
        Column("basis", "basis"),
        Column("days_between", "days_between", "int"),
        Column("created_at", "created_at", "time"),
    ],
)
IMPROVEMENT_ACTIONS = Table(
    "improvement-actions",
    ImprovementAction,
    [
        Column("id", "id", "int"),
        Column("title", "title"),
        Column("description", "description"),
        Column("root_cause", "root_cause__code"),
        Column("category", "category__code"),
        Column("item_ref", "item_ref"),
        Column("department", "department__code"),
        Column("owner", "owner__username"),
        Column("due_date", "due_date", "date"),
        Column("status", "status"),
        Column("complaints", "complaints__reference", "many"),
        Column("completed_at", "completed_at", "time"),
        Column("review_days", "review_days", "int"),
        Column("before_complaints", "before_complaints", "int"),
        Column("before_repeats", "before_repeats", "int"),
        Column("after_complaints", "after_complaints", "int"),
        Column("after_repeats", "after_repeats", "int"),
        Column("verdict", "verdict"),
        Column("reviewed_at", "reviewed_at", "time"),
        Column("created_at", "created_at", "time"),
        Column("updated_at", "updated_at", "time"),
    ],
    many={
        "complaints": (
            ImprovementAction.complaints.through,
            "improvementaction_id",
            "complaint__reference",
        )
    },
)
TABLES = {t.name: t for t in (FOLLOWUPS, SURVEYS, REPEATS, IMPROVEMENT_ACTIONS)}


# -- the rows ---------------------------------------------------------------------------------


def rows(queryset: QuerySet, table: Table, *, pii: bool, now: datetime) -> Iterator[list]:
    """Each row as a list of values in the table's column order (JSON types), newest first;
    one query per ITERATOR_ROWS rows (two with a many-to-many column)."""
    zone = ZoneInfo(settings.TIME_ZONE)
    columns = table.columns
    plain = [c for c in columns if c.kind != "many"]
    status_index = next((i for i, c in enumerate(plain) if c.name == "status"), None)
    queryset = queryset.select_related(None).prefetch_related(None).order_by("-pk")
    paths = [c.path for c in columns if c.kind != "many"]  # the first is the id
    chunk: list[tuple] = []
    for row in queryset.values_list(*paths).iterator(chunk_size=ITERATOR_ROWS):
        chunk.append(row)
        if len(chunk) >= ITERATOR_ROWS:
            yield from _convert(chunk, table, status_index, zone, pii=pii, now=now)
            chunk = []
    if chunk:
        yield from _convert(chunk, table, status_index, zone, pii=pii, now=now)


def _convert(chunk, table, status_index, zone, *, pii, now) -> Iterator[list]:
    many = {}
    for name, (through, key, path) in table.many.items():
        ids = [row[0] for row in chunk]
        values: dict[int, list] = {pk: [] for pk in ids}
        links = through.objects.filter(**{f"{key}__in": ids}).values_list(key, path)
        for pk, value in links.order_by(key, path):
            values[pk].append(value)
        many[name] = values
    for row in chunk:
        out, values = [], iter(row)
        for column in table.columns:
            kind = column.kind
            value = many[column.name][row[0]] if kind == "many" else next(values)
            if kind == "time":
                value = iso_datetime(value, zone)
            elif kind == "date":
                value = value.isoformat() if isinstance(value, date) else value
            elif kind == "email" and not pii:
                value = mask("email", value) if value else value
            elif kind == "overdue":
                value = row[status_index] == Status.SCHEDULED and value < now
            out.append(value)
        yield out


def _csv_cell(column: Column, value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(value)
    if isinstance(value, str):
        return formula_safe(value) if column.kind in FORMULA_GUARDED else value
    return str(value)


def stream(queryset: QuerySet, table: Table, fmt: str, *, pii: bool, now=None) -> Iterator[bytes]:
    """The rows as CSV (UTF-8 with BOM, every value quoted, empty for null; a row's many
    values separated by spaces) or JSON Lines, in chunks of about CHUNK_BYTES."""
    now = now or timezone.now()
    buffer = io.StringIO()
    writer = _csv_writer(buffer)
    if fmt == "csv":
        writer.writerow(table.header)
        yield BOM + buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    for values in rows(queryset, table, pii=pii, now=now):
        if fmt == "csv":
            writer.writerow([_csv_cell(c, v) for c, v in zip(table.columns, values, strict=True)])
        else:
            obj = {c.name: v for c, v in zip(table.columns, values, strict=True)}
            buffer.write(json.dumps(obj, ensure_ascii=False, separators=JSON_SEPARATORS))
            buffer.write("\n")
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def response(queryset: QuerySet, table: Table, fmt: str, *, pii: bool) -> StreamingHttpResponse:
    """The streamed file as an attachment named after the table and today's date."""
    now = timezone.now()
    content_type, extension = FORMATS[fmt]
    reply = StreamingHttpResponse(
        stream(queryset, table, fmt, pii=pii, now=now), content_type=content_type
    )
    day = timezone.localtime(now, ZoneInfo(settings.TIME_ZONE)).date().isoformat()
    reply["Content-Disposition"] = f'attachment; filename="{table.name}-{day}.{extension}"'
    reply["Cache-Control"] = "private, no-store"
    return reply


# -- the API action ---------------------------------------------------------------------------


def export_action(view, request, table: Table, format: str | None = None):
    """The `export` action of a follow-ups list: the list's queryset (scope, isolation) and
    filters, streamed."""
    from complaints.api.auth import caller

    fmt = format or request.query_params.get("format") or "csv"
    if fmt not in FORMATS:
        message = _('Unknown export format "%(format)s": use csv or jsonl.') % {"format": fmt}
        raise serializers.ValidationError({"format": [message]})
    queryset = view.filter_queryset(view.get_queryset())  # 400 on invalid filter values
    return response(queryset, table, fmt, pii=caller(request).has_scope("pii:read"))


def export_schema(what: str, scope: str):
    return extend_schema(
        summary=f"Export {what} (CSV or JSON Lines, streamed)",
        description=(
            f"All {what} matching the list's filters in one streamed file, newest first, "
            "without pages: the list's fields (CSV: UTF-8 with BOM, every value quoted, empty "
            "for null, several values separated by spaces; free text starting with = + - @ "
            "gets a leading apostrophe; JSON Lines: one object per line as the list gives "
            "it). Times are ISO 8601 with the offset of the server's time zone. A key "
            f"restricted to a department exports that department's rows. Scope `{scope}`."
            + (
                " Surveys add `emailed_to`, masked without the pii:read scope."
                if what == "surveys"
                else ""
            )
        ),
        filters=True,
        parameters=export_parameters(),
        responses=export_responses("Missing scope."),
    )
