from . import (  # noqa: F401  (registers the admins)
    alerts,
    api,
    audit,
    compensation,
    complaints,
    customers,
    login,
    organisation,
    schedule,
    sla,
    users,
)
