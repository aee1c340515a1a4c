from . import (  # noqa: F401  (registers the admins)
    alerts,
    api,
    complaints,
    customers,
    login,
    organisation,
    schedule,
    sla,
    users,
)
