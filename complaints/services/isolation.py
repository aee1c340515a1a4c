"""Loading a batch of complaints so that one unreadable row (e.g. a timestamp PostgreSQL
stored but Python cannot represent) never stops the work on the others."""

import logging

from django.db import transaction

log = logging.getLogger(__name__)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def load_each(queryset, ids: list[int]) -> tuple[list, dict[int, BaseException]]:
    """The rows of `queryset` with these ids in one query; if that fails, row by row (each in
    a savepoint), returning the ones that loaded and {id: error} for the others."""
    try:
        with transaction.atomic():
            return list(queryset.filter(pk__in=ids)), {}
    except Exception:  # noqa: BLE001 - isolate below, row by row
        log.warning("A batch of %s rows could not be loaded, isolating the bad ones", len(ids))
    loaded, failed = [], {}
    for pk in ids:
        try:
            with transaction.atomic():
                loaded.append(queryset.get(pk=pk))
        except Exception as exc:  # noqa: BLE001 - one bad row never stops the batch
            failed[pk] = exc
    return loaded, failed
