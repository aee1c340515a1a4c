from . import (  # noqa: F401  (registers the admins)
    alerts,
    complaints,
    customers,
    organisation,
    schedule,
    sla,
    users,
)
