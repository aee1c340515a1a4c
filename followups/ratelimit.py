"""A small fixed-window rate limit per client address for the public survey page.

Counters live in the shared cache (Redis in production). When the cache is unreachable the
page must still work: the limit falls back to a counter in this process (per worker, so a
little more lenient), and a cache error never becomes a 500."""

import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache

from complaints import cache as shared_cache

log = logging.getLogger(__name__)
WINDOW = 60  # seconds

_local_lock = threading.Lock()
_local: dict[str, tuple[int, int]] = {}  # key -> (window, count)


def client_address(request) -> str:
    """The same rule as the admin login throttle and the API (complaints.http.client_ip):
    the address the outermost of REDRESS_TRUSTED_PROXIES proxies saw, else REMOTE_ADDR."""
    from complaints.http import client_ip

    return client_ip(request)


def _local_hit(key: str, window: int) -> int:
    with _local_lock:
        if len(_local) > 10_000:
            _local.clear()
        current_window, count = _local.get(key, (window, 0))
        count = count + 1 if current_window == window else 1
        _local[key] = (window, count)
        return count


def allow(request, *, scope: str = "survey", limit: int | None = None) -> bool:
    """Count this request; False when the address is over the limit for this minute."""
    limit = limit or settings.REDRESS_SURVEY_RATE_PER_MINUTE
    window = int(time.time()) // WINDOW
    key = f"rl:{scope}:{client_address(request)}:{window}"
    count = None
    if shared_cache.usable():
        try:
            count = 1 if cache.add(key, 1, timeout=WINDOW * 2) else cache.incr(key)
        except Exception as exc:  # noqa: BLE001 - cache down: degrade to a per-process counter
            shared_cache.failed(exc, "Rate limit (counting per process)")
    if count is None:
        count = _local_hit(key, window)
    return count <= limit
