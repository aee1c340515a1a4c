"""Improvement actions (整改): status, isolation and the before/after effectiveness review."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine

from complaints.models import RootCause, Status
from complaints.services import lifecycle
from complaints.services.errors import NotPermitted, ServiceError
from followups.models import ImprovementAction, RepeatLink
from followups.services import actions
from tests.factories import (
    CategoryFactory,
    DepartmentFactory,
    MembershipFactory,
    UserFactory,
    make_complaint,
)

from .conftest import FOLLOWUP_PERMS, sh

pytestmark = pytest.mark.django_db
DONE = sh(2026, 6, 1, 10, 0)  # the action is completed here; review window 30 days


@pytest.fixture
def action(fmanager, department):
    leaks = CategoryFactory(code="leaks", default_department=department)
    return ImprovementAction.objects.create(
        title="Replace the riser pipes in block B",
        root_cause=RootCause.objects.create(code="material", name="材料老化", name_en="Ageing"),
        category=leaks,
        department=department,
        owner=fmanager,
        due_date=date(2026, 6, 15),
        review_days=30,
    )


def _complaint(user, at, category, *, repeat=False, status=None):
    with time_machine.travel(at, tick=False):
        complaint = make_complaint(user=user, received_at=at, category=category)
    if repeat:
        earlier = make_complaint(user=user, received_at=at - timedelta(days=200), category=category)
        RepeatLink.objects.create(
            complaint=complaint, earlier=earlier, basis="category", days_between=200
        )
    if status == Status.INVALID:
        lifecycle.transition(complaint.pk, Status.INVALID, user=user, note="Not ours")
    return complaint


def build_data_set(user, action):
    """Before [2 May 10:00, 1 Jun 10:00): 5 complaints in the category (incl. a
    subcategory), 2 of them repeats -> 40.0 %. After [1 Jun 10:00, 1 Jul 10:00): 4
    complaints, 1 repeat -> 25.0 %. Everything else must not count."""
    leaks = action.category
    pipes = CategoryFactory(code="pipes", parent=leaks)
    noise = CategoryFactory(code="noise")
    d = timedelta
    # before
    _complaint(user, DONE - d(days=29), leaks, repeat=True)
    _complaint(user, DONE - d(days=20), pipes, repeat=True)  # subcategory counts
    _complaint(user, DONE - d(days=10), leaks)
    _complaint(user, DONE - d(days=5), leaks)
    _complaint(user, DONE - d(seconds=1), leaks)
    # after
    _complaint(user, DONE, leaks, repeat=True)
    _complaint(user, DONE + d(days=3), leaks)
    _complaint(user, DONE + d(days=15), pipes)
    _complaint(user, DONE + d(days=29, hours=23), leaks)
    # not counted: outside both windows, another category, discarded as invalid
    _complaint(user, DONE - d(days=31), leaks, repeat=True)
    _complaint(user, DONE + d(days=30), leaks, repeat=True)
    _complaint(user, DONE + d(days=2), noise, repeat=True)
    _complaint(user, DONE + d(days=4), leaks, repeat=True, status=Status.INVALID)


def test_effectiveness_before_and_after_on_a_hand_built_data_set(fmanager, action):
    build_data_set(fmanager, action)
    with time_machine.travel(DONE, tick=False):
        actions.complete(action.pk, user=fmanager)
    action.refresh_from_db()
    figures = actions.effectiveness(action, now=DONE + timedelta(days=31))
    assert (figures.before_complaints, figures.before_repeats) == (5, 2)
    assert (figures.after_complaints, figures.after_repeats) == (4, 1)
    assert figures.before_rate == Decimal("40.0")
    assert figures.after_rate == Decimal("25.0")
    assert figures.window_complete
    assert not actions.effectiveness(action, now=DONE + timedelta(days=29)).window_complete


def test_effectiveness_is_one_query(fmanager, action, django_assert_num_queries):
    build_data_set(fmanager, action)
    with time_machine.travel(DONE, tick=False):
        actions.complete(action.pk, user=fmanager)
    action.refresh_from_db()
    with django_assert_num_queries(2):  # the category tree, then the aggregate
        actions.effectiveness(action)


def test_review_stores_the_figures_and_the_verdict(fmanager, action):
    build_data_set(fmanager, action)
    with time_machine.travel(DONE - timedelta(days=40), tick=False):
        actions.start(action.pk, user=fmanager)
    with time_machine.travel(DONE, tick=False):
        actions.complete(action.pk, user=fmanager)
    with pytest.raises(ServiceError, match="not final"):
        actions.review(
            action.pk,
            user=fmanager,
            effective=True,
            verdict="Fewer leaks",
            now=DONE + timedelta(days=10),
        )
    with pytest.raises(ServiceError, match="verdict"):
        actions.review(
            action.pk, user=fmanager, effective=True, verdict=" ", now=DONE + timedelta(days=31)
        )
    action.refresh_from_db()
    assert action.status == "done" and action.reviewed_at is None
    actions.review(
        action.pk,
        user=fmanager,
        effective=True,
        verdict="Repeat rate fell from 40 % to 25 %.",
        now=DONE + timedelta(days=31),
    )
    action.refresh_from_db()
    assert action.status == "verified"
    assert (action.before_complaints, action.before_repeats) == (5, 2)
    assert (action.after_complaints, action.after_repeats) == (4, 1)
    assert action.reviewed_by == fmanager


def test_transitions_are_checked(fmanager, action):
    actions.complete(action.pk, user=fmanager)
    with pytest.raises(ServiceError):
        actions.start(action.pk, user=fmanager)
    with pytest.raises(ServiceError):
        actions.complete(action.pk, user=fmanager)


def test_other_departments_cannot_see_or_change_actions(action):
    outsider = UserFactory(username="sales", perms=FOLLOWUP_PERMS)
    MembershipFactory(department=DepartmentFactory(code="sales"), user=outsider)
    assert not actions.visible_actions(outsider).exists()
    with pytest.raises(NotPermitted):
        actions.complete(action.pk, user=outsider)
    action.refresh_from_db()
    assert action.status == "open"


def test_without_category_or_item_the_root_cause_scopes_the_review(fmanager, action):
    action.category = None
    action.save()
    c = _complaint(fmanager, DONE - timedelta(days=1), None, repeat=True)
    c.root_cause_category = action.root_cause
    c.save(update_fields=["root_cause_category"])
    _complaint(fmanager, DONE - timedelta(days=2), None)  # no root cause: not counted
    with time_machine.travel(DONE, tick=False):
        actions.complete(action.pk, user=fmanager)
    action.refresh_from_db()
    figures = actions.effectiveness(action)
    assert (figures.before_complaints, figures.before_repeats) == (1, 1)
    assert figures.before_rate == Decimal("100.0") and figures.after_rate is None
