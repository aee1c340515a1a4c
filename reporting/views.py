"""The dashboard page and the admin landing page for managers and department heads."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.forms.utils import flatatt
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from complaints.models import Category, Channel, Department, DepartmentMembership, Severity
from complaints.selectors import sees_all, sees_department

from . import dashboard
from .queries import DEFAULT_DAYS, Filters, today

MAX_DAYS = 3660
MIN_YEAR, MAX_YEAR = 1900, 2999
PERMISSION = "reporting.view_dashboard"


def scope_for(user) -> tuple[int, ...] | None:
    """The departments whose figures the user may see: None for all (complaint managers,
    auditors), else the departments they belong to (the rule of complaints.selectors, on the
    responsible department)."""
    if sees_all(user):
        return None
    if not sees_department(user):
        return ()
    return tuple(
        sorted(
            DepartmentMembership.objects.filter(user=user).values_list("department_id", flat=True)
        )
    )


def may_view(user) -> bool:
    return user.is_active and user.is_staff and user.has_perm(PERMISSION)


class QuickSelect(forms.Select):
    """A select rendered in Python: Django's widget templates (one template per option) took
    most of the dashboard form's time, on every page view."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (option["value"], " selected" if option["selected"] else "", option["label"])
                for _group, group_options, _index in widget["optgroups"]
                for option in group_options
            ),
        )
        return format_html(
            '<select name="{}"{}>{}</select>', widget["name"], flatatt(widget["attrs"]), options
        )


class DashboardForm(forms.Form):
    date_from = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    department = forms.ModelChoiceField(
        queryset=Department.objects.none(),
        label=gettext_lazy("Department"),
        required=False,
        widget=QuickSelect,
        empty_label=gettext_lazy("All departments"),
    )
    category = forms.ModelChoiceField(
        queryset=Category.objects.all(),
        label=gettext_lazy("Category"),
        required=False,
        widget=QuickSelect,
        empty_label=gettext_lazy("All categories"),
    )
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), required=False, widget=QuickSelect)
    severity = forms.TypedChoiceField(
        label=gettext_lazy("Severity"),
        required=False,
        coerce=int,
        empty_value=None,
        widget=QuickSelect,
    )
    live = forms.BooleanField(
        label=gettext_lazy("Live figures (exact percentiles, slower)"), required=False
    )

    def __init__(self, *args, scope=None, **kwargs):
        super().__init__(*args, **kwargs)
        departments = Department.objects.all()
        if scope is not None:
            departments = departments.filter(pk__in=scope)
        self.fields["department"].queryset = departments
        self.fields["channel"].choices = [("", _("All channels")), *Channel.choices]
        self.fields["severity"].choices = [("", _("All severities")), *Severity.choices]
        self.scope = scope

    def clean(self):
        data = super().clean()
        end = data.get("date_to") or today()
        start = data.get("date_from") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        if start.year < MIN_YEAR or end.year > MAX_YEAR:
            raise forms.ValidationError(
                _("Dates must lie between %(first)d and %(last)d.")
                % {"first": MIN_YEAR, "last": MAX_YEAR}
            )
        if (end - start).days + 1 > MAX_DAYS:
            raise forms.ValidationError(_("Choose at most %(days)d days.") % {"days": MAX_DAYS})
        data["date_from"], data["date_to"] = start, end
        return data

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            date_from=data["date_from"],
            date_to=data["date_to"],
            department=data["department"].pk if data.get("department") else None,
            category=data["category"].pk if data.get("category") else None,
            channel=data.get("channel") or None,
            severity=data.get("severity"),
            departments=self.scope,
        )


def dashboard_context(request) -> dict:
    """The dashboard for this request's filters (the defaults when none or invalid)."""
    scope = scope_for(request.user)
    form = DashboardForm(request.GET or None, scope=scope)
    if form.is_bound and form.is_valid():
        filters, live = form.filters(), form.cleaned_data.get("live", False)
    else:
        filters, live = Filters.default(departments=scope), False
        if not form.is_bound:
            form = DashboardForm(
                initial={"date_from": filters.date_from, "date_to": filters.date_to},
                scope=scope,
            )
    parts = None
    if scope != ():
        # The figures are the same for everyone with these filters: their HTML is kept in
        # the cache with the dashboard (rendering them is most of the page's work).
        parts = (
            render_parts(dashboard.build(filters, live=True))
            if live
            else (dashboard.cached(filters, render=render_parts))
        )
    return {"form": form, "scope_empty": scope == (), "dashboard_parts": parts}


def render_parts(built: dict) -> dict:
    """The dashboard's period line and figures as HTML (no request needed)."""
    context = {"dashboard": built}
    return {
        "period": render_to_string("reporting/_period.html", context),
        "figures": render_to_string("reporting/_figures.html", context),
    }


def dashboard_view(request):
    if not may_view(request.user):
        raise PermissionDenied
    context = {
        **admin.site.each_context(request),
        "title": _("Dashboard"),
        **dashboard_context(request),
    }
    return TemplateResponse(request, "reporting/dashboard.html", context)


def dashboard_callback(request, context: dict) -> dict:
    """Unfold's DASHBOARD_CALLBACK: the admin index shows the dashboard to those allowed."""
    if may_view(request.user):
        context.update(dashboard_context(request), reporting_on_index=True)
    return context
