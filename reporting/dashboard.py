"""The dashboard's content: KPI cards, chart data and tables, each figure with the link to
the complaint list filtered to exactly the complaints behind it. Presentation only: the
numbers come from reporting.queries (one aggregate query per widget)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import lru_cache, partial
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _

from complaints.models import (
    Category,
    Channel,
    Department,
    RootCause,
    Severity,
    pick_name,
    pick_path,
)

from . import queries
from .models import NARROW_MEASURES
from .queries import AGE_BUCKETS, Figures, Filters, FreshSource, SummarySource, ratio

SEVERITY_COLOURS = {1: "#dc2626", 2: "#f59e0b", 3: "#3b82f6", 4: "#94a3b8"}
TOP_ROOT_CAUSES = 10
TOP_CATEGORIES = 15
SLA_MEASURES = ("ack_measured", "ack_on_time", "resolve_measured", "resolve_on_time")
# The department league table: what the pair levels keep, so that a filtered league is read
# from department × category (× channel …) summaries too.
LEAGUE_MEASURES = NARROW_MEASURES


def changelist(filters: Filters | None, *, dated: bool = True, **params) -> str:
    """The complaint list filtered like `filters` plus `params` (the admin's own filter
    parameters, plus `kpi` for the figure's definition)."""
    query: dict = {}
    if filters is not None:
        if dated:
            query["received_at_from"] = filters.date_from.isoformat()
            query["received_at_to"] = filters.date_to.isoformat()
        if filters.department is not None:
            query["department__id__exact"] = filters.department
        elif filters.departments is not None:
            query["mine"] = "departments"
        if filters.category is not None:
            query["category__id__exact"] = filters.category
        if filters.channel:
            query["channel__exact"] = filters.channel
        if filters.severity is not None:
            query["severity__exact"] = filters.severity
    query.update({k: v for k, v in params.items() if v is not None})
    return _changelist_url() + "?" + urlencode(query)


@lru_cache(maxsize=1)
def _changelist_url() -> str:
    return reverse("admin:complaints_complaint_changelist")


def _dimension_params(dimension: str, value) -> dict:
    names = {
        "department_id": "department__id__exact",
        "category_id": "category__id__exact",
        "channel": "channel__exact",
        "severity": "severity__exact",
        "root_cause_id": "root_cause_category__id__exact",
    }
    if value is None:
        return {names[dimension].replace("__id__exact", "__isnull"): "True"}
    return {names[dimension]: value}


def percent(value: float | None) -> str:
    return "–" if value is None else f"{formats.number_format(round(value, 1), 1)} %"


def hours(value: float | None, open_ended: bool = False) -> str:
    if value is None:
        return "–"
    text = _("%(n)s h") % {"n": formats.number_format(round(value, 1), 1)}
    return f"≥ {text}" if open_ended else text


@dataclass
class Number:
    value: str
    link: str | None = None


@dataclass
class Card:
    key: str
    label: str
    current: Number
    previous: Number | None = None
    # Rates: (numerator, denominator) now and in the previous period, each a linked number.
    parts: tuple[Number, Number] | None = None
    parts_before: tuple[Number, Number] | None = None
    # Further lines: (label, linked number now, text before or "").
    extra: list = field(default_factory=list)
    trend: str = ""  # "up", "down" or ""
    unavailable: str = ""


def _trend(current, previous) -> str:
    if current is None or previous is None or current == previous:
        return ""
    return "up" if current > previous else "down"


def _rate_card(key, label, fig: Figures, prev: Figures, num, den, filters, prev_filters):
    value, before = ratio(fig[num], fig[den]), ratio(prev[num], prev[den])
    return Card(
        key=key,
        label=label,
        current=Number(percent(value)),
        previous=Number(percent(before)),
        trend=_trend(value, before),
        parts=(
            Number(str(fig[num]), changelist(filters, kpi=num)),
            Number(str(fig[den]), changelist(filters, kpi=den)),
        ),
        parts_before=(
            Number(str(prev[num]), changelist(prev_filters, kpi=num)),
            Number(str(prev[den]), changelist(prev_filters, kpi=den)),
        ),
    )


def _duration_card(key, label, fig: Figures, prev: Figures, which: str, kpi, filters, pf):
    median, p90 = getattr(fig, which)
    prev_median, prev_p90 = getattr(prev, which)
    open_median, open_p90 = fig.open_ended.get(which, (False, False))
    count = fig[f"{which}_count"]
    return Card(
        key=key,
        label=label,
        current=Number(hours(median, open_median), changelist(filters, kpi=kpi)),
        previous=Number(hours(prev_median), changelist(pf, kpi=kpi)),
        trend=_trend(median, prev_median),
        extra=[
            (_("90th percentile"), Number(hours(p90, open_p90)), hours(prev_p90)),
            (_("complaints measured"), Number(str(count), changelist(filters, kpi=kpi)), ""),
        ],
    )


def _count_card(key, label, fig, prev, measure, filters, pf, kpi=None):
    return Card(
        key=key,
        label=label,
        current=Number(str(fig[measure]), changelist(filters, kpi=kpi)),
        previous=Number(str(prev[measure]), changelist(pf, kpi=kpi)),
        trend=_trend(fig[measure], prev[measure]),
    )


def money(value: float | None) -> str:
    if value is None:
        return "–"
    return f"¥ {formats.number_format(round(value, 2), 2, force_grouping=True)}"


def _compensation_cards(fig: Figures, prev: Figures, filters, prev_filters) -> list[Card]:
    return [
        Card(
            "compensation",
            _("Compensation total (CNY)"),
            Number(money(fig.compensation_total), changelist(filters, kpi="compensated")),
            previous=Number(
                money(prev.compensation_total), changelist(prev_filters, kpi="compensated")
            ),
            trend=_trend(fig.compensation_total, prev.compensation_total),
            extra=[
                (
                    _("compensated complaints"),
                    Number(str(fig["compensated"]), changelist(filters, kpi="compensated")),
                    str(prev["compensated"]),
                )
            ],
        ),
        Card(
            "compensation_per_complaint",
            _("Compensation per compensated complaint (CNY)"),
            Number(money(fig.compensation_per_complaint)),
            previous=Number(money(prev.compensation_per_complaint)),
            trend=_trend(fig.compensation_per_complaint, prev.compensation_per_complaint),
        ),
    ]


def _names(kind: str, pks=None) -> dict:
    """{pk: names} of one kind, all of them or those of `pks`."""
    model, fields = {
        "category": (Category, ("path", "path_en", "name", "name_en")),
        "department": (Department, ("name", "name_en")),
        "root_cause": (RootCause, ("name", "name_en")),
    }[kind]
    rows = model.objects.all() if pks is None else model.objects.filter(pk__in=pks)
    return {pk: tuple(rest) for pk, *rest in rows.values_list("pk", *fields)}


def reference_names() -> dict:
    """{"category" | "department" | "root_cause": {pk: names}} for the widgets' labels, kept
    per process by complaints.services.reference_cache until a category, department or root
    cause changes (three queries fewer per dashboard). Names in both languages; the reader's
    is picked by the label functions below."""
    from complaints.services import reference_cache

    def load() -> dict:
        return {kind: _names(kind) for kind in ("category", "department", "root_cause")}

    return reference_cache.get("reporting-dashboard-names", load)


def names_for(names: dict, kind: str, pks) -> dict:
    """names[kind] (reference_names()) for `pks`; ids this process's copy does not know (made
    in another process since the copy was loaded, while the change could not reach it yet)
    are read in one query, so a new department never shows as "(no department)"."""
    from complaints.services import reference_cache

    wanted = {pk for pk in pks if pk is not None}
    known = reference_cache.with_missing(names[kind], wanted, partial(_names, kind))
    return {pk: known[pk] for pk in wanted if pk in known}


def _month_label(month: date) -> str:
    return formats.date_format(month, "YEAR_MONTH_FORMAT")


def _clip(filters: Filters, first: date, last: date) -> Filters:
    return replace(
        filters, date_from=max(filters.date_from, first), date_to=min(filters.date_to, last)
    )


def _month_end(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _months(filters: Filters) -> list[date]:
    months, month = [], filters.date_from.replace(day=1)
    while month <= filters.date_to:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


CACHE_SECONDS = 600
# The widgets over the period's days, (group, measures): the cards with the period before,
# volume and deadlines by month and severity, the category Pareto, the channels, the root
# causes and the department league table.
WIDGETS = (
    (("period",), queries.MEASURES),
    (("month", "severity"), ("received", *SLA_MEASURES)),
    (("category_id",), ("received",)),
    (("channel",), ("received",)),
    (("root_cause_id",), ("valid",)),
    (("department_id",), LEAGUE_MEASURES),
)


def cached(filters: Filters, render=None):
    """build() from the summaries (or what `render` makes of it, e.g. the page's HTML), kept
    in the cache until summary rows are next written (the key holds SummaryState.version,
    today's date and the language). Not with two dimensions filtered or more: some widgets
    then read the complaints. A cache that is down costs only the build."""
    from django.core.cache import cache
    from django.utils.translation import get_language

    from complaints import cache as shared_cache

    from .models import SummaryState

    prefix = "reporting:dashboard:" if render is None else "reporting:dashboard-page:"
    render = render or (lambda built: built)
    version, refreshed_at = SummaryState.objects.filter(pk=1).values_list(
        "version", "refreshed_at"
    ).first() or (None, None)
    built = refreshed_at is not None
    if version is None or not built or len(filters.dimension_filters()) > 1:
        return render(build(filters, built=built))
    identity = repr((version.hex, queries.today(), filters, get_language()))
    key = prefix + hashlib.sha256(identity.encode()).hexdigest()
    usable = shared_cache.usable()
    found = None
    if usable:
        try:
            found = cache.get(key)
        except Exception as exc:  # noqa: BLE001 - the cache is an optimisation only
            shared_cache.failed(exc, "Dashboard")
            usable = False
    if found is not None:
        return found
    result = render(build(filters, built=True))
    if usable:
        try:
            cache.set(key, result, CACHE_SECONDS)
        except Exception as exc:  # noqa: BLE001
            shared_cache.failed(exc, "Dashboard")
    return result


def build(
    filters: Filters, *, live: bool = False, now: datetime | None = None, built: bool | None = None
) -> dict:
    """Everything the dashboard shows, for one set of filters (`built`: whether the summaries
    are built, when the caller has read it already)."""
    source = FreshSource(now) if live else SummarySource(now, built=built)
    now = source.now
    prev_filters = filters.previous()
    # The widgets over the period's complaints, read ahead in one query where no summary
    # level keeps their dimensions (two filters and a breakdown by a third: the complaints).
    source.prefetch(filters, WIDGETS)
    fig, prev = queries.figures_with_previous(source, filters)

    cards = [
        _count_card(
            "received", _("Complaints received"), fig, prev, "received", filters, prev_filters
        ),
        _count_card(
            "valid", _("Valid complaints"), fig, prev, "valid", filters, prev_filters, "valid"
        ),
        _rate_card(
            "closure", _("Closure rate"), fig, prev, "closed", "valid", filters, prev_filters
        ),
        _rate_card(
            "ack_on_time",
            _("Acknowledged on time"),
            fig,
            prev,
            "ack_on_time",
            "ack_measured",
            filters,
            prev_filters,
        ),
        _rate_card(
            "resolve_on_time",
            _("Resolved on time"),
            fig,
            prev,
            "resolve_on_time",
            "resolve_measured",
            filters,
            prev_filters,
        ),
        _duration_card(
            "frt",
            _("Time to first response (working hours, median)"),
            fig,
            prev,
            "frt",
            "frt_known",
            filters,
            prev_filters,
        ),
        _duration_card(
            "ttr",
            _("Time to resolution (working hours, median)"),
            fig,
            prev,
            "ttr",
            "ttr_known",
            filters,
            prev_filters,
        ),
        _rate_card(
            "reopened",
            _("Reopened rate"),
            fig,
            prev,
            "reopened",
            "ever_resolved",
            filters,
            prev_filters,
        ),
    ]

    # Open backlog by age (received any time; one query).
    ages = source.rows(filters, ("age",), ("open", "overdue"), dated=False)
    age_rows = {r["age"]: r["open"] for r in ages}
    overdue = sum(r["overdue"] for r in ages)
    today = queries.today()
    backlog = []
    for key, oldest, youngest in AGE_BUCKETS:
        link = changelist(
            filters,
            dated=False,
            kpi="open",
            received_at_from=(today - timedelta(days=oldest)).isoformat() if oldest else None,
            received_at_to=(today - timedelta(days=youngest)).isoformat(),
        )
        backlog.append(
            {"label": _("%(age)s days") % {"age": key}, "n": age_rows.get(key, 0), "link": link}
        )
    open_total = sum(b["n"] for b in backlog)
    cards += [
        Card(
            "open",
            _("Open backlog"),
            Number(str(open_total), changelist(filters, dated=False, kpi="open")),
        ),
        Card(
            "overdue",
            _("Overdue now"),
            Number(str(overdue), changelist(filters, dated=False, deadline="overdue")),
        ),
    ]
    cards += [
        _rate_card(
            "repeat",
            _("Repeat-complaint rate"),
            fig,
            prev,
            "repeated",
            "valid",
            filters,
            prev_filters,
        ),
        _rate_card(
            "csat",
            _("CSAT after recovery"),
            fig,
            prev,
            "csat_satisfied",
            "csat_measured",
            filters,
            prev_filters,
        ),
    ]
    cards += _compensation_cards(fig, prev, filters, prev_filters)

    # Volume by month, stacked by severity, and the deadlines kept (one query).
    months = _months(filters)
    sla_measures = SLA_MEASURES
    monthly = source.rows(filters, ("month", "severity"), ("received", *sla_measures))
    volume = {(r["month"], r["severity"]): r["received"] for r in monthly}
    volume_chart = {
        "labels": [_month_label(m) for m in months],
        "datasets": [
            {
                "label": str(label),
                "color": SEVERITY_COLOURS[value],
                "data": [volume.get((m, value), 0) for m in months],
                "links": [
                    changelist(_clip(filters, m, _month_end(m)), severity__exact=value)
                    for m in months
                ],
            }
            for value, label in Severity.choices
        ],
    }

    # SLA compliance trend by month (the same query, severities added up).
    trend_rows: dict = {}
    for r in monthly:
        row = trend_rows.setdefault(r["month"], dict.fromkeys(sla_measures, 0))
        for name in sla_measures:
            row[name] += r[name]
    empty = {"ack_measured": 0, "ack_on_time": 0, "resolve_measured": 0, "resolve_on_time": 0}
    sla_chart = {
        "labels": [_month_label(m) for m in months],
        "datasets": [
            {
                "label": str(label),
                "color": colour,
                "data": [
                    ratio(trend_rows.get(m, empty)[num], trend_rows.get(m, empty)[den])
                    for m in months
                ],
                "counts": [
                    [trend_rows.get(m, empty)[num], trend_rows.get(m, empty)[den]] for m in months
                ],
                "links": [changelist(_clip(filters, m, _month_end(m)), kpi=den) for m in months],
            }
            for label, num, den, colour in (
                (_("Acknowledged on time"), "ack_on_time", "ack_measured", "#0ea5e9"),
                (_("Resolved on time"), "resolve_on_time", "resolve_measured", "#16a34a"),
            )
        ],
    }

    # Category Pareto (one query).
    category_rows = sorted(
        source.rows(filters, ("category_id",), ("received",)),
        key=lambda r: (-r["received"], r["category_id"] or 0),
    )
    names = reference_names()
    top = (r["category_id"] for r in category_rows[:TOP_CATEGORIES])
    category_names = {pk: pick_path(*n) for pk, n in names_for(names, "category", top).items()}
    total_received = sum(r["received"] for r in category_rows) or 1
    pareto, cumulative = [], 0
    for r in category_rows[:TOP_CATEGORIES]:
        cumulative += r["received"]
        pareto.append(
            {
                "label": category_names.get(r["category_id"], _("(no category)")),
                "n": r["received"],
                "cumulative": 100.0 * cumulative / total_received,
                "link": changelist(filters, **_dimension_params("category_id", r["category_id"])),
            }
        )

    # By channel (one query).
    channel_rows = {
        r["channel"]: r["received"] for r in source.rows(filters, ("channel",), ("received",))
    }
    channels = [
        {
            "label": str(label),
            "n": channel_rows.get(value, 0),
            "link": changelist(filters, channel__exact=value),
        }
        for value, label in Channel.choices
        if channel_rows.get(value)
    ]

    # Top root causes among valid complaints (one query).
    cause_rows = sorted(
        (
            r
            for r in source.rows(filters, ("root_cause_id",), ("valid",))
            if r["root_cause_id"] and r["valid"]
        ),
        key=lambda r: (-r["valid"], r["root_cause_id"]),
    )[:TOP_ROOT_CAUSES]
    causes_found = names_for(names, "root_cause", (r["root_cause_id"] for r in cause_rows))
    cause_names = {pk: pick_name(*n) for pk, n in causes_found.items()}
    causes = [
        {
            "label": cause_names.get(r["root_cause_id"], "?"),
            "n": r["valid"],
            "link": changelist(
                filters, kpi="valid", **_dimension_params("root_cause_id", r["root_cause_id"])
            ),
        }
        for r in cause_rows
    ]

    # Department league table (one query).
    league_rows = source.rows(filters, ("department_id",), LEAGUE_MEASURES)
    league_found = names_for(names, "department", (r["department_id"] for r in league_rows))
    department_names = {pk: pick_name(*n) for pk, n in league_found.items()}
    league = []
    for r in league_rows:
        dim = _dimension_params("department_id", r["department_id"])
        league.append(
            {
                "label": department_names.get(r["department_id"], _("(no department)")),
                "received": Number(str(r["received"]), changelist(filters, **dim)),
                "valid": Number(str(r["valid"]), changelist(filters, kpi="valid", **dim)),
                "closure": percent(ratio(r["closed"], r["valid"])),
                "closed": Number(str(r["closed"]), changelist(filters, kpi="closed", **dim)),
                "ack": percent(ratio(r["ack_on_time"], r["ack_measured"])),
                "resolve": percent(ratio(r["resolve_on_time"], r["resolve_measured"])),
                "resolve_late": Number(
                    str(r["resolve_measured"] - r["resolve_on_time"]),
                    changelist(filters, kpi="resolve_late", **dim),
                ),
                "open": Number(str(r["open"]), changelist(filters, kpi="open", **dim)),
                "csat": percent(ratio(r["csat_satisfied"], r["csat_measured"])),
                "sort": (-r["received"], department_names.get(r["department_id"], "")),
            }
        )
    league.sort(key=lambda row: row["sort"])

    for ds in volume_chart["datasets"]:
        ds["cells"] = [
            {"n": n, "link": link} for n, link in zip(ds["data"], ds["links"], strict=True)
        ]
    for ds in sla_chart["datasets"]:
        ds["cells"] = [
            {"n": f"{a} / {b}", "link": link}
            for (a, b), link in zip(ds["counts"], ds["links"], strict=True)
        ]
    return {
        "filters": filters,
        "previous": prev_filters,
        "source": source.name,
        "approximate": fig.approximate,
        "now": now,
        "cards": cards,
        "charts": {
            "volume": volume_chart,
            "sla": sla_chart,
            "pareto": pareto,
            "channels": channels,
            "backlog": backlog,
            "causes": causes,
        },
        "league": league,
    }
