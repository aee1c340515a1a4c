from . import (  # noqa: F401  (registers the admins)
    alerts,
    api,
    audit,
    complaints,
    customers,
    jobs,
    login,
    organisation,
    schedule,
    sla,
    users,
)
