from . import complaints, customers, organisation, users  # noqa: F401  (registers the admins)
