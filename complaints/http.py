"""Request helpers shared by the admin and the API."""

from django.conf import settings


def client_ip(request) -> str:
    """The caller's address. With REDRESS_TRUSTED_PROXIES = n (> 0) the production proxies
    each append the address they saw to X-Forwarded-For: the n-th entry from the right is the
    one the outermost trusted proxy saw; everything left of it is the client's own word.
    With 0 (the default), or fewer entries than proxies, REMOTE_ADDR."""
    if request is None:
        return "?"
    remote = request.META.get("REMOTE_ADDR", "") or "?"
    proxies = settings.REDRESS_TRUSTED_PROXIES
    if proxies <= 0:
        return remote[:64]
    entries = [
        entry.strip()
        for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if entry.strip()
    ]
    if len(entries) < proxies:
        return remote[:64]
    return entries[-proxies][:64]
