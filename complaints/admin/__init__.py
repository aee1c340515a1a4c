from . import complaints, customers, organisation, sla, users  # noqa: F401  (registers the admins)
