"""Who is calling: API clients (Token keys with scopes) or staff sessions (admin permissions).

Both become a `Caller` on `request.auth` so that views ask one question: may this caller do
that, and which complaints may it see."""

import itertools
import logging
import os
import uuid
from dataclasses import dataclass

from django.core.cache import cache as default_cache
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions, permissions, throttling

from .. import cache as shared_cache
from ..cache import RedisCache
from ..http import client_ip
from ..models import ApiClient, Complaint, Customer
from ..models.api import KEY_PREFIX
from ..selectors import can_see, client_complaints, sees_all, visible_complaints
from ..services import reference_cache

log = logging.getLogger(__name__)
_tag = (0, "")


def _process_tag() -> str:
    """Names this process in the throttle's request records, so that two processes (or
    hosts) recording the same time never overwrite each other's (forked workers get their
    own)."""
    global _tag
    pid = os.getpid()
    if _tag[0] != pid:
        _tag = (pid, f"{pid}-{uuid.uuid4().hex[:8]}")
    return _tag[1]


# What a staff user's admin permissions mean in API scopes.
STAFF_SCOPES = {
    "complaints:read": "complaints.view_complaint",
    "complaints:write": "complaints.add_complaint",
    "pii:read": "complaints.view_pii",
    "reports:read": "reporting.view_dashboard",
    "compensations:read": "complaints.view_compensation",
    "followups:read": "followups.view_followup",
    "improvements:read": "followups.view_improvementaction",
}


class ClientUser:
    """request.user for an API client: authenticated, but no Django user or permissions."""

    is_authenticated = True
    is_anonymous = False
    is_staff = is_superuser = False
    pk = id = None

    def __init__(self, client: ApiClient):
        self.client = client

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def __str__(self) -> str:
        return f"api:{self.client.name}"


@dataclass
class Caller:
    client: ApiClient | None = None
    user: object | None = None

    def has_scope(self, scope: str) -> bool:
        if self.client is not None:
            return self.client.active and self.client.has_scope(scope)
        perm = STAFF_SCOPES.get(scope)
        return bool(perm and self.user is not None and self.user.has_perm(perm))

    @property
    def department_id(self) -> int | None:
        return self.client.department_id if self.client else None

    def visible(self, complaints):
        """Restrict a Complaint queryset to what the caller may read (selectors)."""
        if self.client is None:
            return visible_complaints(self.user, complaints)
        return client_complaints(self.client, complaints)

    def may_see(self, complaint: Complaint) -> bool:
        if self.client is None:
            return can_see(self.user, complaint)
        if self.department_id is None:
            return True
        return client_complaints(self.client, Complaint.objects.filter(pk=complaint.pk)).exists()

    def may_read_customer(self, customer: Customer, *, besides: Complaint) -> bool:
        """Could the caller read this customer without `besides` (a complaint it just sent)?
        Customers are readable through a complaint the caller may see, or when the caller
        recorded them."""
        if self.client is None and sees_all(self.user):
            return True
        if self.client is not None and self.department_id is None:
            return True
        others = Complaint.objects.filter(customer=customer).exclude(pk=besides.pk)
        if self.visible(others).exists():
            return True
        # A customer the intake just created is shown as sent either way.
        return self.client is None and customer.created_by_id == self.user.pk

    @property
    def throttle_key(self) -> str:
        return f"client:{self.client.pk}" if self.client else f"user:{self.user.pk}"


def caller(request) -> Caller:
    if isinstance(request.auth, Caller):
        return request.auth
    return Caller(user=request.user)


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token rdx_...`; only a hash of the key is stored."""

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Give the key as: Authorization: Token <key>."))
        key = header[1].decode(errors="replace")
        client = None
        if key.startswith(KEY_PREFIX):
            client = _client_by_prefix(key[: len(KEY_PREFIX) + 8])
        if client is None or not client.key_matches(key) or not client.active:
            raise exceptions.AuthenticationFailed(_("Invalid or inactive API key."))
        now = timezone.now()
        if client.last_used_at is None or (now - client.last_used_at).total_seconds() > 60:
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
            client.last_used_at = now  # also on this process's copy: once a minute
        return ClientUser(client), Caller(client=client)

    def authenticate_header(self, request):
        return self.keyword


def _clients() -> dict[str, ApiClient]:
    """Every API client by key prefix, with its department (read by intake and the list's
    check): a small table, kept per process by reference_cache like the SLA policies. A
    change saved to a client or a department (deactivation, a new key, scopes) reaches every
    process with its commit; the copies are shared, read-only apart from last_used_at."""
    return {c.key_prefix: c for c in ApiClient.objects.select_related("department")}


def _client_by_prefix(prefix: str) -> ApiClient | None:
    # A per-process cache (no Redis) cannot tell the other processes that a key was
    # deactivated or reissued: their copies would accept it for up to a minute.
    if reference_cache.shared():
        clients = reference_cache.get("api-clients", _clients, uncached=lambda: None)
        if clients is not None:
            return clients.get(prefix)
    # No copy may be kept now (Redis unavailable, or this transaction changed one): read
    # only this key's row.
    return ApiClient.objects.filter(key_prefix=prefix).select_related("department").first()


class SessionAuthentication(authentication.SessionAuthentication):
    """Staff sessions (browsable API); CSRF checked as usual."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, _auth = result
        if not user.is_staff:
            return None
        return user, Caller(user=user)


class HasScope(permissions.BasePermission):
    """Views name the scope each action needs in `required_scopes` ({action: scope})."""

    message = _("This key or account lacks the scope needed here.")

    def has_permission(self, request, view):
        scope = view.required_scopes.get(getattr(view, "action", None) or request.method)
        if scope is None:
            scope = view.required_scopes.get("*")
        return caller(request).has_scope(scope) if scope else False


# The sliding window of SimpleRateThrottle (at most `limit` requests in any `window`
# seconds) as one Redis call: the caller's request times are the scores of a sorted set, no
# list is read, unpickled, pickled and written back per request. ARGV: the time now, the
# window's start (times at or before it are dropped), the limit, this request's member, the
# key's lifetime in ms (all strings: no rounding of times in Lua). Returns {1} when allowed
# (the time recorded), else {0, requests in the window, the oldest one's time}.
WINDOW_SCRIPT = """
local key = KEYS[1]
redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[2])
local count = redis.call('ZCARD', key)
if count < tonumber(ARGV[3]) then
    redis.call('ZADD', key, ARGV[1], ARGV[4])
    redis.call('PEXPIRE', key, ARGV[5])
    return {1}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {0, count, oldest[2]}
"""


class ResilientThrottle(throttling.SimpleRateThrottle):
    """A rate throttle whose counters live in the shared cache (Redis) and degrade safely:
    when the cache fails, this process counts on its own for a while (limits then hold per
    process) instead of failing the request, and Redis is not asked again for a while
    (complaints/cache.py's circuit), so a dead or hanging Redis costs at most one connect
    timeout per interval.

    In Redis the window is one Lua call (WINDOW_SCRIPT); any other cache (the local
    fallback, tests' in-memory caches) keeps DRF's list of request times."""

    fallback = LocMemCache("redress-throttle-fallback", {"MAX_ENTRIES": 10_000})
    _members = itertools.count()

    def allow_request(self, request, view):
        self.counted = None
        if shared_cache.usable():
            try:
                return self._allow(request, view, self.cache)
            except Exception as exc:  # noqa: BLE001 - any cache failure: count locally
                shared_cache.failed(exc, "Throttle (counting per process)")
        return self._allow(request, view, self.fallback)

    def _allow(self, request, view, cache) -> bool:
        backend = caches["default"] if cache is default_cache else cache
        if not isinstance(backend, RedisCache):
            # SimpleRateThrottle.allow_request's list of request times, in `cache`.
            shared, self.cache = self.cache, cache
            try:
                return super().allow_request(request, view)
            finally:
                self.cache = shared
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        if self.num_requests <= 0:  # a rate of 0 (shut out): no window to ask Redis about
            self.history = []
            return False
        member = f"{self.now!r}:{_process_tag()}:{next(self._members)}"
        answer = backend.script(WINDOW_SCRIPT)(
            keys=[backend.make_key(f"{self.key}:window")],
            args=[
                repr(self.now),
                repr(self.now - self.duration),
                self.num_requests,
                member,
                self.duration * 1000,
            ],
        )
        if answer[0] == 1:
            return True
        self.counted = (int(answer[1]), float(answer[2]))
        return False

    def wait(self):
        if self.counted is None:
            return super().wait()
        # As SimpleRateThrottle.wait, from the window Redis counted.
        count, oldest = self.counted
        available = self.num_requests - count + 1
        if available <= 0:
            return None
        return (self.duration - (self.now - oldest)) / float(available)


class CallerRateThrottle(ResilientThrottle):
    """Per API client (or staff user), e.g. REST_FRAMEWORK DEFAULT_THROTTLE_RATES["caller"]."""

    scope = "caller"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, Caller):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.throttle_key}


class AddressRateThrottle(ResilientThrottle):
    """Per address (complaints.http.client_ip), for callers without a valid key or session:
    DEFAULT_THROTTLE_RATES["address"]. Key guessing and anonymous load are slowed down."""

    scope = "address"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request)}
