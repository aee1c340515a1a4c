"""Settings of the Celery workers that the integration tests start.

The project settings plus, per test, a queue and a Redis key prefix of its own (so tests
running in parallel on one Redis database never take each other's messages, and a test can
delete everything it left behind), and optionally a short visibility timeout (so a message
held by a killed worker comes back within seconds instead of an hour).
"""

import os

from config.settings import *  # noqa: F403
from config.settings import CELERY_BROKER_TRANSPORT_OPTIONS

CELERY_TASK_DEFAULT_QUEUE = os.environ["REDRESS_IT_QUEUE"]
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "global_keyprefix": os.environ["REDRESS_IT_KEYPREFIX"],
    "visibility_timeout": int(os.environ.get("REDRESS_IT_VISIBILITY_TIMEOUT", "3600")),
    # Look for messages of dead workers every second (kombu's default: every 100 s).
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}


def _signal_ready(sender=None, **kwargs):
    """The test waits for this file: the worker itself says it is consuming its queue."""
    path = os.environ.get("REDRESS_IT_READY_FILE")
    if path:
        with open(path, "w") as ready:
            ready.write(str(os.getpid()))


from celery.signals import worker_ready  # noqa: E402

worker_ready.connect(_signal_ready, weak=False)
