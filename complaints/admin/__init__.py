from . import (  # noqa: F401  (registers the admins)
    alerts,
    api,
    audit,
    autocomplete,
    complaints,
    customers,
    jobs,
    login,
    organisation,
    schedule,
    sla,
    users,
)
