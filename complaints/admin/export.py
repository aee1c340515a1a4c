"""Export of the complaint list as the user sees it: CSV or XLSX, streamed.

`/admin/complaints/complaint/export/<csv|xlsx>/?<the list's query string>` builds the list's
own ChangeList from the query string, so the rows are exactly the list's: its filters, search,
ordering and department isolation; customers' names and phones are masked for readers without
the personal-data right (complaints/privacy.py). Headers and labels (status, severity, channel,
yes/no) are in the reader's language; times are local (the current time zone).

- PostgreSQL: one `COPY (SELECT ...) TO STDOUT` per file (api/export.py's machinery): values
  are formatted, labelled and masked in SQL; for XLSX the database writes each row's cells as
  XML (escaped, times as Excel day numbers) and complaints/xlsx.py adds the row numbers and
  zips while the rows arrive. Memory stays flat; an unreadable timestamp cuts nothing.
- Other databases (SQLite in development): a chunked iterator over `values_list` (no query
  per row) formatted in Python, the same values (tests compare the two).

Each export is written to the admin's change log (who, format, filter, row count); the count
is filled in when the stream ends.
"""

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from xml.sax.saxutils import escape as xml_escape

from django.contrib import messages
from django.contrib.admin.models import LogEntry
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import connections
from django.db.models import Case, CharField, F, FloatField, Func, Q, TextField, Value, When
from django.db.models.functions import Cast, Coalesce, Concat, NullIf, Trim
from django.http import Http404, HttpResponseRedirect, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from .. import xlsx
from ..api.export import (
    BOM,
    CHUNK_BYTES,
    FORMULA_START,
    ITERATOR_ROWS,
    _has_copy,
    copy_rows,
    copy_statement,
    copy_stream,
    csv_copy_sql,
    without_redundant_distinct,
)
from ..models import OPEN_STATUSES, Complaint
from ..privacy import MaskSQL, can_read, mask

EXPORT_FLAG = 4  # LogEntry.action_flag of an export (1-3 are Django's add/change/delete)
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class ListColumn:
    key: str
    header: str  # lazy, translated when the export starts
    path: str
    # text, name, phone, time, choice, ref (bilingual name), person, due, overdue, int
    kind: str = "text"
    width: int = 14

    @property
    def xml_safe(self) -> bool:
        """Values that need no XML escaping: generated references, normalised phones (or
        their masks), our labels (escaped before they go into the SQL)."""
        return self.key in ("reference", "phone") or self.kind in ("choice", "overdue")

    @property
    def guarded(self) -> bool:
        """Free text: a leading = + - @ gets an apostrophe in CSV (formula injection)."""
        return self.kind in ("text", "name", "ref", "person")


COLUMNS = [
    ListColumn("reference", gettext_lazy("reference"), "reference", width=16),
    ListColumn("received_at", gettext_lazy("received at"), "received_at", "time", 17),
    ListColumn("customer", gettext_lazy("customer"), "customer__name", "name"),
    ListColumn("phone", gettext_lazy("phone"), "customer__phone", "phone", 16),
    ListColumn("subject", gettext_lazy("subject"), "subject", width=40),
    ListColumn("severity", gettext_lazy("severity"), "severity", "choice", 12),
    ListColumn("status", gettext_lazy("status"), "status", "choice", 12),
    ListColumn("channel", gettext_lazy("channel"), "channel", "choice", 12),
    ListColumn("category", gettext_lazy("category"), "category__name", "ref", 18),
    ListColumn("department", gettext_lazy("department"), "department__name", "ref", 18),
    ListColumn("assignee", gettext_lazy("assignee"), "assignee", "person"),
    ListColumn("due_at", gettext_lazy("next deadline"), "due_at", "due", 17),
    ListColumn("overdue", gettext_lazy("overdue"), "due_at", "overdue", 8),
    ListColumn(
        "escalation",
        gettext_lazy("current escalation level"),
        "alert_schedule__escalation_level",
        "int",
        8,
    ),
    ListColumn("resolved_at", gettext_lazy("resolved at"), "resolved_at", "time", 17),
    ListColumn("closed_at", gettext_lazy("closed at"), "closed_at", "time", 17),
]
_STATUS_INDEX = [c.path for c in COLUMNS].index("status")
TIME_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class Labels:
    """Everything language- and zone-dependent, fixed when the request starts (the stream is
    produced after the view returned)."""

    header: list[str]
    choices: dict[str, dict]  # path -> {value: label}
    yes: str
    no: str
    zone: object
    english: bool

    @classmethod
    def now(cls) -> "Labels":
        choices = {}
        for column in COLUMNS:
            if column.kind == "choice":
                field = Complaint._meta.get_field(column.path)
                choices[column.path] = {value: str(label) for value, label in field.flatchoices}
        return cls(
            header=[str(c.header) for c in COLUMNS],
            choices=choices,
            yes=_("yes"),
            no=_("no"),
            zone=timezone.get_current_timezone(),
            english=(get_language() or "").lower().startswith("en"),
        )


def _source(column: ListColumn, labels: Labels):
    """What the column reads: a field path, or an expression computed by the database (the
    same in both paths)."""
    if column.kind == "ref":
        # `category__name`: the English name for English readers where the model has one.
        relation, _name = column.path.split("__", 1)
        model = Complaint._meta.get_field(relation).related_model
        if labels.english and any(f.name == "name_en" for f in model._meta.get_fields()):
            return Coalesce(NullIf(F(f"{relation}__name_en"), Value("")), F(column.path))
    if column.kind == "person":
        # How the admin names a user (complaints/apps.py): full name, else the username.
        full = Trim(
            Concat(F(f"{column.path}__first_name"), Value(" "), F(f"{column.path}__last_name"))
        )
        return Coalesce(NullIf(full, Value("")), F(f"{column.path}__username"))
    return column.path


# -- the rows in Python (CSV elsewhere, XLSX everywhere) ------------------------------------------


def python_rows(
    queryset, *, pii: bool, now: datetime, labels: Labels, as_text: bool
) -> Iterator[list]:
    """Each complaint as the export shows it (COLUMNS order). `as_text`: times as text (CSV);
    otherwise local datetimes without zone (XLSX date cells). On PostgreSQL the masking is
    done by the database (the same rule, privacy.MaskSQL)."""
    zone = labels.zone
    open_statuses = frozenset(str(s) for s in OPEN_STATUSES)
    mask_in_sql = not pii and connections[queryset.db].vendor == "postgresql"
    sources = []
    for column in COLUMNS:
        if column.kind in ("name", "phone") and mask_in_sql:
            sources.append(MaskSQL(column.kind, F(column.path)))
        else:
            sources.append(_source(column, labels))

    def local_time(value):
        if value is None:
            return None
        local = value.astimezone(zone)
        return local.strftime(TIME_FORMAT) if as_text else local.replace(tzinfo=None)

    # One converter per column (None: the value as read).
    converters = []
    for column in COLUMNS:
        kind = column.kind
        if kind in ("time", "due"):
            converters.append(local_time)
        elif kind in ("name", "phone") and not pii and not mask_in_sql:
            converters.append(lambda value, kind=kind: mask(kind, value))
        elif kind == "choice":
            choices = labels.choices[column.path]
            converters.append(lambda value, choices=choices: choices.get(value, value))
        else:
            converters.append(None)
    due_index = next(i for i, c in enumerate(COLUMNS) if c.kind == "due")
    overdue_index = next(i for i, c in enumerate(COLUMNS) if c.kind == "overdue")
    yes, no = labels.yes, labels.no
    for row in queryset.values_list(*sources).iterator(chunk_size=ITERATOR_ROWS):
        out = [
            value if convert is None or value is None else convert(value)
            for convert, value in zip(converters, row, strict=True)
        ]
        is_open = row[_STATUS_INDEX] in open_statuses
        due = row[overdue_index]
        out[overdue_index] = yes if is_open and due is not None and due < now else no
        if not is_open:
            out[due_index] = None
        yield out


def _csv_writer(buffer):
    return csv.writer(buffer, quoting=csv.QUOTE_NOTNULL, lineterminator="\n")


def _csv_cell(column: ListColumn, value):
    if value is None:
        return None
    if isinstance(value, str):
        if column.guarded and value.startswith(FORMULA_START):
            return "'" + value
        return value
    return str(value)


def csv_header(labels: Labels) -> bytes:
    buffer = io.StringIO()
    _csv_writer(buffer).writerow(labels.header)
    return BOM + buffer.getvalue().encode()


def python_csv(queryset, *, pii, now, labels, counter) -> Iterator[bytes]:
    yield csv_header(labels)
    buffer = io.StringIO()
    writer = _csv_writer(buffer)
    for values in python_rows(queryset, pii=pii, now=now, labels=labels, as_text=True):
        writer.writerow([_csv_cell(c, v) for c, v in zip(COLUMNS, values, strict=True)])
        counter[0] += 1
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def xlsx_stream(queryset, *, pii, now, labels, counter) -> Iterator[bytes]:
    raw = connections[queryset.db].vendor == "postgresql" and _has_copy()
    raw = raw and hasattr(labels.zone, "key")
    if raw:
        source = copy_xlsx_rows(queryset, pii=pii, now=now, labels=labels) or iter(())
    else:
        source = python_rows(queryset, pii=pii, now=now, labels=labels, as_text=False)

    def rows():
        for values in source:
            counter[0] += 1
            yield values

    return xlsx.stream_workbook(
        labels.header,
        rows(),
        sheet=_("Complaints"),
        widths=[c.width for c in COLUMNS],
        now=timezone.localtime(now, labels.zone),
        raw=raw,
    )


# -- CSV on PostgreSQL: COPY ------------------------------------------------------------------


class LocalMinute(Func):
    """yyyy-mm-dd hh:mi in the session time zone (copy_stream sets it): TIME_FORMAT. For
    years 1000-9998 the first 16 characters of the time's own text output (DateStyle ISO,
    set by copy_stream) are exactly that, at a fraction of to_char()'s cost; other years
    (five digits, BC) keep to_char."""

    template = (
        "CASE WHEN %(expressions)s >= '1000-01-01 00:00:00+00' "
        "AND %(expressions)s < '9999-01-01 00:00:00+00' "
        "THEN left(%(expressions)s::text, 16) "
        "ELSE to_char(%(expressions)s, 'YYYY-MM-DD HH24:MI') END"
    )
    output_field = TextField()

    def as_sql(self, compiler, connection, **extra):
        sql, params = super().as_sql(compiler, connection, **extra)
        if params:
            raise ValueError("LocalMinute takes a column, not parameters")
        return sql, params


class ExcelSerial(Func):
    """The local wall-clock time as Excel's day number (days since 1899-12-30), computed by
    PostgreSQL: no timestamp is parsed in Python (a year PostgreSQL stores but Python cannot
    represent becomes a number, not an error that would cut the file)."""

    output_field = FloatField()

    def __init__(self, expression, zone: str):
        super().__init__(expression, Value(zone))

    def as_sql(self, compiler, connection, **extra):
        value, params = compiler.compile(self.source_expressions[0])
        zone, zone_params = compiler.compile(self.source_expressions[1])
        # date_part is double precision (EXTRACT's numeric arithmetic costs several times
        # more at a million rows).
        sql = f"(date_part('epoch', ({value}) AT TIME ZONE {zone}) / 86400.0::float8 + 25569)"
        return sql, (*params, *zone_params)


def _sql_value(
    column: ListColumn, *, pii: bool, now: datetime, labels: Labels, excel: bool = False
):
    """The column's value formatted by PostgreSQL: text for CSV; with `excel`, times as
    day numbers (XLSX date cells)."""
    value = F(column.path)
    kind = column.kind
    is_open = Q(status__in=OPEN_STATUSES)
    if kind in ("time", "due"):
        if excel:
            shown = ExcelSerial(value, str(labels.zone.key))
            field = FloatField()
        else:
            shown, field = LocalMinute(value), TextField()
        if kind == "time":
            return shown
        return Case(When(is_open, then=shown), default=None, output_field=field)
    if kind in ("name", "phone") and not pii:
        return MaskSQL(kind, value)
    if kind == "choice":
        whens = [
            When(**{column.path: key}, then=Value(label))
            for key, label in labels.choices[column.path].items()
        ]
        return Case(*whens, default=Cast(value, TextField()), output_field=TextField())
    if kind in ("ref", "person"):
        source = _source(column, labels)
        return F(source) if isinstance(source, str) else source
    if kind == "overdue":
        late = is_open & Q(due_at__isnull=False, due_at__lt=now)
        return Case(
            When(late, then=Value(labels.yes)), default=Value(labels.no), output_field=CharField()
        )
    return value


# PostgreSQL's regular expression of the characters XML cannot carry (xlsx.ILLEGAL_CODES).
ILLEGAL_PATTERN = r"[\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"


def _xml_text_sql(x: str) -> str:
    """SQL of the text x made safe for an XML text node: characters XML cannot carry removed,
    cut at Excel's cell limit, & < > escaped (complaints/xlsx.py does the same in Python)."""
    illegal = " || ".join(f"chr({code})" for code in xlsx.ILLEGAL_CODES)
    # translate() rebuilds every string: only for the rare text that holds such a character.
    found = f"{x} ~ '{ILLEGAL_PATTERN}'"
    cleaned = (
        f"left(CASE WHEN {found} THEN translate({x}, {illegal}, '') ELSE {x} END, {xlsx.MAX_TEXT})"
    )
    return f"replace(replace(replace({cleaned}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')"


def _xlsx_cell_sql(ref: str, letter: str, kind: str, *, safe: bool = False) -> str:
    """SQL writing one cell's XML (nothing for an empty value); chr(3) stands for the row
    number (xlsx.ROW_NUMBER), filled in by the writer. `safe`: the value is known to need no
    escaping (references, phones, labels escaped beforehand)."""
    start = f"'<c r=\"{letter}' || chr(3) || '\""
    if kind in ("time", "due"):
        cell = f"{start} s=\"{xlsx.STYLE_DATETIME}\"><v>' || {ref}::text || '</v></c>'"
        return f"CASE WHEN {ref} IS NULL THEN '' ELSE {cell} END"
    if kind == "int":
        return f"CASE WHEN {ref} IS NULL THEN '' ELSE {start}><v>' || {ref}::text || '</v></c>' END"
    if safe:
        cell = f"{start} t=\"inlineStr\"><is><t>' || {ref} || '</t></is></c>'"
    else:
        text = f'{start} t="inlineStr"><is><t xml:space="preserve">\''
        cell = f"{text} || {_xml_text_sql(ref)} || '</t></is></c>'"
    return f"CASE WHEN {ref} IS NULL OR {ref} = '' THEN '' ELSE {cell} END"


def copy_xlsx_rows(queryset, *, pii, now, labels) -> Iterator[bytes] | None:
    """Each row's cells as XLSX XML, written by PostgreSQL in one COPY (formatting, labels,
    masking, escaping in SQL); None when nothing can match."""
    # Labels go into the SQL already escaped (they are ours, but may hold & < >).
    escaped = replace(
        labels,
        choices={
            path: {key: xml_escape(label) for key, label in choices.items()}
            for path, choices in labels.choices.items()
        },
        yes=xml_escape(labels.yes),
        no=xml_escape(labels.no),
    )
    values = [_sql_value(c, pii=pii, now=now, labels=escaped, excel=True) for c in COLUMNS]
    letters = [xlsx.column_letter(i) for i in range(len(COLUMNS))]

    def select(refs):
        return " || ".join(
            _xlsx_cell_sql(ref, letter, column.kind, safe=column.xml_safe)
            for ref, letter, column in zip(refs, letters, COLUMNS, strict=True)
        )

    # One text per line: CSV with delimiter and quote characters the cells never contain
    # (they are removed as XML-illegal); a line with a newline comes quoted in \x02.
    options = "FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02'"
    statement = copy_statement(queryset, values, select, options)
    if statement is None:
        return None

    def rows():
        for data in copy_rows(queryset.db, statement, time_zone=str(labels.zone.key)):
            line = bytes(data)
            if line.endswith(b"\n"):
                line = line[:-1]
            if line.startswith(b"\x02") and line.endswith(b"\x02"):
                line = line[1:-1]
            yield line

    return rows()


def copy_csv(queryset, *, pii, now, labels, counter) -> Iterator[bytes]:
    yield csv_header(labels)
    values = [_sql_value(c, pii=pii, now=now, labels=labels) for c in COLUMNS]
    statement = csv_copy_sql(queryset, values, [c.guarded for c in COLUMNS])
    if statement is None:
        return
    yield from copy_stream(queryset.db, statement, time_zone=str(labels.zone.key), counter=counter)


def export_chunks(queryset, fmt: str, *, pii: bool, now: datetime, labels: Labels, counter):
    """The file's bytes. `counter` (a one-item list) counts the rows as they are written."""
    queryset = without_redundant_distinct(queryset)
    if fmt == "xlsx":
        return xlsx_stream(queryset, pii=pii, now=now, labels=labels, counter=counter)
    postgres = connections[queryset.db].vendor == "postgresql" and _has_copy()
    if postgres and hasattr(labels.zone, "key"):
        return copy_csv(queryset, pii=pii, now=now, labels=labels, counter=counter)
    return python_csv(queryset, pii=pii, now=now, labels=labels, counter=counter)


# -- the view -------------------------------------------------------------------------------------


def list_queryset(model_admin, request):
    """The complaint list's rows for this request's query string: the ChangeList's own
    queryset (filters, search, ordering with its tiebreak, isolation)."""
    changelist = model_admin.get_changelist_instance(request)
    return changelist.queryset


def export_view(model_admin, request, fmt: str):
    if fmt not in FORMATS:
        raise Http404
    if not model_admin.has_view_or_change_permission(request):
        raise PermissionDenied
    changelist_url = reverse("admin:complaints_complaint_changelist")
    try:
        queryset = list_queryset(model_admin, request)
    except IncorrectLookupParameters:
        messages.error(request, _("The list's filters are not valid; nothing was exported."))
        return HttpResponseRedirect(changelist_url)
    now = timezone.now()
    pii = can_read(request.user)
    labels = Labels.now()
    query = request.GET.urlencode()
    entry = LogEntry.objects.create(
        user_id=request.user.pk,
        content_type=ContentType.objects.get_for_model(Complaint),
        object_repr=f"export {fmt}"[:200],
        action_flag=EXPORT_FLAG,
        change_message=json.dumps(
            {"export": {"format": fmt, "query": query, "rows": None, "masked": not pii}}
        ),
    )
    counter = [0]

    def stream():
        yield from export_chunks(queryset, fmt, pii=pii, now=now, labels=labels, counter=counter)
        LogEntry.objects.filter(pk=entry.pk).update(
            change_message=json.dumps(
                {
                    "export": {
                        "format": fmt,
                        "query": query,
                        "rows": counter[0],
                        "masked": not pii,
                    }
                }
            )
        )

    response = StreamingHttpResponse(stream(), content_type=FORMATS[fmt])
    day = timezone.localtime(now, labels.zone).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="complaints-{day}.{fmt}"'
    response["Cache-Control"] = "private, no-store"  # personal data
    return response


def describe(entry: LogEntry) -> str | None:
    """The change log's text for an export entry (None for other entries)."""
    if entry.action_flag != EXPORT_FLAG:
        return None
    try:
        data = json.loads(entry.change_message)["export"]
    except (ValueError, KeyError, TypeError):
        return None
    rows = data.get("rows")
    text = (
        _("%(rows)s complaints exported as %(format)s")
        % {"rows": f"{rows:,}", "format": data.get("format", "?").upper()}
        if rows is not None
        else _("Export as %(format)s not completed") % {"format": data.get("format", "?").upper()}
    )
    text += "; " + (_("filter: %(query)s") % {"query": data.get("query") or "—"})
    if data.get("masked"):
        text += "; " + _("personal data masked")
    return text
