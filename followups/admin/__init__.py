from . import actions, surveys, visits  # noqa: F401  (registers the admins)
