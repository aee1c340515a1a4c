"""Reference data that rarely changes (SLA policies, the category tree, business calendars,
root causes, API clients and departments), loaded once per process and reused until it
changes, so that an intake or a list page does not read it again for every request.

Correctness over speed:

- **Version token.** A random token in the shared cache (Redis) names the current state.
  Every change replaces it *after its transaction commits* (signals on the models, and
  `changed()` called by `calendars.touch_calendar`, `categories` and any bulk write), so a
  process that sees the new token reloads from the database and finds the committed change.
  Each request reads the token once (one Redis GET, no database query) and keeps it until
  it ends (the API's key check and the intake's SLA data ask for it within milliseconds);
  outside requests (tasks, commands) every use reads it.
- **Own uncommitted changes.** The process that changes the data drops its copies at once
  and does not keep new ones while its transaction is open (it might roll back); it reads
  the database meanwhile.
- **Redis down never stops an intake.** Without a token (cache error, or the process-wide
  circuit of complaints/cache.py open after one) the data is read from the database every
  time, as before. A copy is also never older than `MAX_AGE` seconds, which bounds
  staleness if a change could not replace the token while Redis was away.
"""

import logging
import threading
import time
import uuid
from collections.abc import Callable

from django.core.cache import cache, caches
from django.db import transaction

from .. import cache as shared_cache

log = logging.getLogger(__name__)

VERSION_KEY = "reference-data-version"
MAX_AGE = 60.0  # seconds a copy is used at most

_lock = threading.Lock()
_copies: dict[str, tuple[str, float, object]] = {}  # name -> (token, loaded at, value)


class _Pending(threading.local):
    connection = None  # the connection whose open transaction changed reference data


_pending = _Pending()


class _Request(threading.local):
    active = False  # between request_started and request_finished
    token: str | None = None  # the token this request read


_request = _Request()


def get(name: str, load: Callable[[], object], *, uncached: Callable[[], object] | None = None):
    """The current `load()` result, from this process's copy while the data is unchanged.
    When no copy may be kept (no token, or an own change pending), `uncached()` is returned
    instead if given (e.g. None: the caller then reads just the row it needs)."""
    token = _token() if not _own_change_pending() else None
    if token is not None:
        with _lock:
            copy = _copies.get(name)
        if copy is not None and copy[0] == token and time.monotonic() - copy[1] < MAX_AGE:
            return copy[2]
    elif uncached is not None:
        return uncached()
    value = load()
    if token is not None:
        with _lock:
            _copies[name] = (token, time.monotonic(), value)
    return value


def with_missing(known: dict, ids, read: Callable[[set], dict]) -> dict:
    """`known` (a copy, by id) with the ids among `ids` it lacks, read by `read(missing)` in
    one query: rows made in another process since this copy was loaded, whose change has not
    reached this process yet. The copy itself is left as it is."""
    missing = {pk for pk in ids if pk is not None} - known.keys()
    return {**known, **read(missing)} if missing else known


def changed(**_signal_kwargs) -> None:
    """Reference data changed (or is about to, in the current transaction): drop this
    process's copies now and tell every process once the transaction commits."""
    clear()
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        _pending.connection = connection
    transaction.on_commit(_publish)


def clear() -> None:
    """Forget this process's copies (tests start from the database)."""
    _request.token = None
    with _lock:
        _copies.clear()


def _request_started(**_signal_kwargs) -> None:
    _request.active, _request.token = True, None


def _request_finished(**_signal_kwargs) -> None:
    _request.active, _request.token = False, None


def _publish() -> None:
    clear()
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception as exc:  # noqa: BLE001 - other processes catch up within MAX_AGE
        log.warning("Could not publish a reference data change: %s", exc)


def _own_change_pending() -> bool:
    connection = _pending.connection
    if connection is None:
        return False
    if connection.in_atomic_block:
        return True
    _pending.connection = None  # that transaction ended (committed and published, or undone)
    return False


def shared() -> bool:
    """Whether the cache that carries the version token is shared by all processes (Redis):
    a process-local one (no REDIS_URL) only tells this process of a change."""
    from django.core.cache.backends.dummy import DummyCache
    from django.core.cache.backends.locmem import LocMemCache

    return not isinstance(caches["default"], (LocMemCache, DummyCache))


def _token() -> str | None:
    if _request.token is not None:
        return _request.token
    if not shared_cache.usable():
        return None
    try:
        token = cache.get(VERSION_KEY)
        if token is None:  # first use, or the cache lost it: start a new version
            cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
            token = cache.get(VERSION_KEY)
        if _request.active:
            _request.token = token
        return token
    except Exception as exc:  # noqa: BLE001 - any cache failure: read the database
        shared_cache.failed(exc, "Reference data (read from the database)")
        return None


def connect_signals() -> None:
    """Every model whose rows the cached data is built from (AppConfig.ready), and the
    request boundaries (one token read per request)."""
    from django.core.signals import request_finished, request_started
    from django.db.models.signals import post_delete, post_save

    from ..models import (
        ApiClient,
        BusinessCalendar,
        CalendarException,
        CalendarYear,
        Category,
        Department,
        RootCause,
        SLAPolicy,
        WorkingInterval,
    )

    # ApiClient: activation, scopes, department and keys (its last_used_at is written with
    # QuerySet.update, which sends no signal: using a key does not drop every copy).
    for model in (
        SLAPolicy,
        Category,
        BusinessCalendar,
        WorkingInterval,
        CalendarException,
        CalendarYear,
        RootCause,
        ApiClient,
        Department,
    ):
        for signal in (post_save, post_delete):
            signal.connect(changed, sender=model, dispatch_uid=f"reference-cache-{model.__name__}")
    request_started.connect(_request_started, dispatch_uid="reference-cache-request-started")
    request_finished.connect(_request_finished, dispatch_uid="reference-cache-request-finished")
