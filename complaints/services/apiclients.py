"""Handing out API access: nobody grants more than they hold themselves.

One rule for creating a client, editing its scopes or department, and issuing it a new key
(a new key is a grant too: it hands over whatever the client may do):

- every scope of the client must be one the granting user holds (api.auth.STAFF_SCOPES maps
  scopes to admin permissions);
- a user who does not see all complaints may only grant clients restricted to one of their
  own departments (a client without a department reads every department).

Superusers may grant anything."""

from django.utils.translation import gettext as _

from ..models import DepartmentMembership
from ..selectors import sees_all


def grant_problems(user, *, scopes, department) -> list[str]:
    """Why `user` may not hand out a key with these scopes and department ([] if they may)."""
    if user.is_superuser:
        return []
    from ..api.auth import Caller  # the API layer defines what a scope means for staff

    problems = []
    beyond = sorted(s for s in set(scopes) if not Caller(user=user).has_scope(s))
    if beyond:
        problems.append(
            _("You cannot grant scopes you do not have yourself: %(scopes)s.")
            % {"scopes": ", ".join(beyond)}
        )
    if not sees_all(user):
        own = DepartmentMembership.objects.filter(user=user)
        if department is None:
            problems.append(
                _("You may only grant access to your own departments: choose one of them.")
            )
        elif not own.filter(department=department).exists():
            problems.append(
                _("You may only grant access to your own departments, not to %(department)s.")
                % {"department": department}
            )
    return problems
