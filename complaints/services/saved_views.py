"""A user's saved complaint list views (admin/views_saved.py), read on every list page.

They are kept in the shared cache (Redis) per user and dropped whenever one of them is saved
or deleted (model signals, again after the commit), so a list page does not query them.
Inside a transaction the database is read (it may hold the transaction's own changes); a
cache error reads the database too, and so does every read while the shared cache's circuit
is open (complaints/cache.py). A copy lives at most CACHE_SECONDS, which bounds how
long a read racing with a change can keep the old list.
"""

import logging

from django.core.cache import cache
from django.db import transaction

from .. import cache as shared_cache
from ..models import SavedListView

log = logging.getLogger(__name__)
MAX_VIEWS = 30
CACHE_SECONDS = 300


def _cache_key(user_id: int) -> str:
    return f"saved-list-views:{user_id}"


def user_views(user) -> list[tuple[int, str, str]]:
    """The user's saved views as (pk, name, query), by name."""
    cached = not transaction.get_connection().in_atomic_block and shared_cache.usable()
    views = None
    if cached:
        try:
            views = cache.get(_cache_key(user.pk))
        except Exception as exc:  # noqa: BLE001 - any cache failure: read the database
            shared_cache.failed(exc, "Saved views")
            cached = False
    if views is None:
        rows = SavedListView.objects.filter(user=user).order_by("name")[:MAX_VIEWS]
        views = [tuple(row) for row in rows.values_list("pk", "name", "query")]
        if cached:
            try:
                cache.set(_cache_key(user.pk), views, CACHE_SECONDS)
            except Exception as exc:  # noqa: BLE001
                shared_cache.failed(exc, "Saved views")
    return views


def forget_user_views(sender=None, instance=None, **_kwargs) -> None:
    """A view was saved or deleted: drop its owner's copy now and after the commit (tried
    even while the circuit is open: a copy kept from before an outage must not outlive it)."""
    key = _cache_key(instance.user_id)

    def drop():
        try:
            cache.delete(key)
        except Exception as exc:  # noqa: BLE001 - the copy expires after CACHE_SECONDS
            shared_cache.failed(exc, "Saved views (dropping a copy)")

    drop()
    transaction.on_commit(drop)


def connect_signals() -> None:
    from django.db.models.signals import post_delete, post_save

    for signal in (post_save, post_delete):
        signal.connect(forget_user_views, sender=SavedListView, dispatch_uid="saved-views-cache")
