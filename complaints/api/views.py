"""REST API v1: complaints (list, detail, intake, notes), departments, categories."""

import hashlib
import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, NotFound, PermissionDenied
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from ..models import (
    Category,
    Complaint,
    ComplaintEvent,
    Customer,
    Department,
    IdempotencyRecord,
)
from ..services import intake, lifecycle
from ..services.errors import NotPermitted, ServiceError
from ..services.intake import CustomerDetails, IntakeError
from . import rows
from .auth import (
    AddressRateThrottle,
    Caller,
    CallerRateThrottle,
    HasScope,
    SessionAuthentication,
    TokenAuthentication,
    caller,
)
from .export import EXPORT_ACTION, export_response, export_schema
from .filters import ComplaintFilter, SkipUnusedFilterBackend
from .serializers import (
    CategorySerializer,
    ComplaintDetailSerializer,
    ComplaintSerializer,
    CustomerSerializer,
    DepartmentSerializer,
    EventSerializer,
    IntakeSerializer,
    NoteSerializer,
)

_RELATED_OR_COMPUTED = {"category", "department", "assignee", "customer", "is_overdue"}
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"\S"},
    OpenApiParameter.HEADER,
    required=True,
    description=(
        "Unique per complaint you send (e.g. your own record id). Repeating a request with "
        "the same key and body returns the original complaint; a different body is a 409."
    ),
)


LIST_COLUMNS = (
    *(f for f in ComplaintSerializer.Meta.fields if f not in _RELATED_OR_COMPUTED),
    "due_at",
    "customer__name",
    "customer__phone",
    "customer__email",
    "customer__external_id",
    "customer__tier",
    "category__code",
    "department__code",
    "assignee__username",
)


class ComplaintCursorPagination(CursorPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-received_at"

    def paginate_queryset(self, queryset, request, view=None):
        # A tampered cursor carries a position that is not a time: 404 like any bad cursor.
        try:
            return super().paginate_queryset(queryset, request, view)
        except DjangoValidationError as exc:
            raise NotFound(self.invalid_cursor_message) from exc


class ApiView:
    """Authentication, scope check and throttling shared by every endpoint."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [HasScope]
    throttle_classes = [CallerRateThrottle]
    required_scopes = {"*": "complaints:read"}

    def initial(self, request, *args, **kwargs):
        # Before the scope check answers 401/403: a caller without a valid key (none, a wrong
        # one) is throttled per address, so keys cannot be guessed at full speed.
        try:
            authenticated = isinstance(request.auth, Caller)
            failure = None
        except AuthenticationFailed as exc:
            authenticated, failure = False, exc
        if not authenticated:
            throttle = AddressRateThrottle()
            if not throttle.allow_request(request, self):
                self.throttled(request, throttle.wait())
        if failure is not None:
            raise failure
        super().initial(request, *args, **kwargs)


class ComplaintViewSet(
    ApiView, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    lookup_field = "reference"
    lookup_value_regex = r"C-\d{4}-\d{6,}"
    required_scopes = {
        "*": "complaints:read",  # methods without an action: 405 for a reader, not 403
        "list": "complaints:read",
        "retrieve": "complaints:read",
        "export": "complaints:read",
        "create": "complaints:write",
        "notes": "complaints:write",
    }
    filter_backends = [SkipUnusedFilterBackend, OrderingFilter]
    filterset_class = ComplaintFilter
    ordering_fields = ["received_at", "updated_at"]
    ordering = ["-received_at", "-id"]  # the id: ties in the same order on every page
    pagination_class = ComplaintCursorPagination

    def get_queryset(self):
        rows = Complaint.objects.select_related("customer", "category", "department", "assignee")
        if self.action == "retrieve":
            events = ComplaintEvent.objects.select_related("actor").order_by("created_at", "pk")
            return rows.prefetch_related(Prefetch("events", queryset=events))
        if self.action == "list":
            # Only the columns the list shows (not e.g. the assignee's password hash).
            return caller(self.request).visible(rows.only(*LIST_COLUMNS))
        return rows

    def get_serializer_class(self):
        return ComplaintDetailSerializer if self.action == "retrieve" else ComplaintSerializer

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context.update(pii=caller(self.request).has_scope("pii:read"), now=timezone.now())
        return context

    def get_object(self):
        complaint = super().get_object()
        if not caller(self.request).may_see(complaint):
            raise PermissionDenied(_("This complaint belongs to another department."))
        return complaint

    def list(self, request, *args, **kwargs):
        restricted = caller(request).client and caller(request).client.department
        wanted = request.query_params.get("department")
        if restricted and wanted and wanted != restricted.code:
            raise PermissionDenied(_("This key may only read its own department's complaints."))
        # ComplaintSerializer's JSON from the page's column values (rows.py), not from DRF
        # fields per row; the cursor pager reads the ordering column from the dicts. The
        # category and department codes come from this process's copy when it has one.
        codes = rows.codes()
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(rows.values(queryset, coded=codes is not None))
        context = self.get_serializer_context()
        data = rows.complaint_json(page, pii=context["pii"], now=context["now"], codes=codes)
        return self.get_paginated_response(data)

    @export_schema
    @action(detail=False, **EXPORT_ACTION)
    def export(self, request, format=None):
        """The list as one streamed CSV or JSON Lines file (complaints/api/export.py)."""
        return export_response(self, request, format)

    @extend_schema(
        request=IntakeSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            201: ComplaintSerializer,
            400: OpenApiResponse(description="Invalid input, field by field; nothing written."),
            409: OpenApiResponse(description="Idempotency-Key reused with another body."),
        },
    )
    def create(self, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key or len(key) > 255 or "\x00" in key:
            raise serializers.ValidationError(
                {"Idempotency-Key": [_("Send a unique Idempotency-Key header (1-255 characters).")]}
            )
        intake = IntakeSerializer(data=request.data)
        intake.is_valid(raise_exception=True)
        body = json.dumps(request.data, sort_keys=True, ensure_ascii=False, default=str)
        body_hash = hashlib.sha256(body.encode()).hexdigest()
        who = caller(request)
        owner = {"client": who.client} if who.client else {"user": who.user}
        # The unique key is taken last, with the complaint (inserted right after it, on
        # PostgreSQL in the complaint's statement): a concurrent twin that got here first
        # holds it, so this insert waits for the twin's commit, fails, and everything this
        # request wrote is rolled back; the record is then found below. (A twin also waits
        # earlier on the same new customer or on the reference counter, which every intake
        # locks.)
        record = IdempotencyRecord(key=key, request_hash=body_hash, **owner)
        try:
            with transaction.atomic():
                result = self._register(intake.validated_data, who, record)
                complaint, created_customer = result.complaint, not result.matched
            replayed = False
        except IntegrityError:
            record = (
                IdempotencyRecord.objects.filter(key=key, **owner)
                .select_related("complaint")
                .first()
            )
            if record is None or record.complaint is None:
                raise
            if record.request_hash != body_hash:
                return Response(
                    {"detail": _("This Idempotency-Key was used with a different request.")},
                    status=status.HTTP_409_CONFLICT,
                )
            complaint, replayed, created_customer = record.complaint, True, False
        context = self.get_serializer_context()
        if not replayed:
            # The complaint as it was just saved (no need to read it back).
            [data] = rows.complaint_json(
                [rows.instance_values(complaint)], pii=context["pii"], now=context["now"]
            )
        else:
            # The complaint as it is now: it may have moved out of the caller's departments.
            source = who.visible(Complaint.objects.filter(pk=complaint.pk))
            [data] = rows.complaint_json(
                rows.values(source), pii=context["pii"], now=context["now"]
            ) or [None]
            if data is None:
                return Response(
                    {
                        "detail": _(
                            "This Idempotency-Key recorded complaint %(reference)s, which "
                            "has since moved out of your departments."
                        )
                        % {"reference": complaint.reference},
                        "reference": complaint.reference,
                    },
                    status=status.HTTP_409_CONFLICT,
                )
        # A customer created by this intake is stored exactly as sent (no check needed).
        if not created_customer and not who.may_read_customer(
            complaint.customer, besides=complaint
        ):
            # Matched a customer the caller could not read (another department's): the
            # complaint is linked to them, but the answer shows the customer as sent, never
            # the record on file (README "Customers and intake").
            entered = CustomerDetails(**intake.validated_data["customer"]).normalised()
            data["customer"] = CustomerSerializer(
                Customer(
                    name=entered.name,
                    phone=entered.phone,
                    email=entered.email,
                    external_id=entered.external_id,
                    tier=complaint.customer.tier,
                ),
                context=context,
            ).data
        response = Response(data, status=status.HTTP_201_CREATED)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    def _register(self, data, who, record) -> intake.IntakeResult:
        details = CustomerDetails(**data["customer"])
        fields = {name: value for name, value in data.items() if name != "customer"}
        try:
            result = intake.record_complaint(
                Complaint(**fields),
                details=details,
                user=None if who.client else who.user,
                api_client=who.client,
                savepoint=False,  # create()'s transaction is undone on any error anyway
                inserted_with=[record],
                count_earlier=False,  # the answer does not say (the admin's message does)
            )
        except IntakeError as exc:
            customer_fields = {"name", "phone", "email", "external_id", "customer"}
            raise serializers.ValidationError(
                {
                    ("customer" if name in customer_fields else name): messages
                    for name, messages in exc.errors.items()
                }
            ) from exc
        except ServiceError as exc:
            raise serializers.ValidationError({"detail": exc.message}) from exc
        return result

    @extend_schema(request=NoteSerializer, responses={201: EventSerializer})
    @action(detail=True, methods=["post"])
    def notes(self, request, reference=None):
        complaint = self.get_object()
        note = NoteSerializer(data=request.data)
        note.is_valid(raise_exception=True)
        data, who = note.validated_data, caller(request)
        user = None if who.client else who.user
        source = f"api:{who.client.name}" if who.client else ""
        try:
            if data["type"] == "note":
                event = lifecycle.add_note(
                    complaint.pk, user=user, text=data["text"], source=source
                )
            else:
                event = lifecycle.log_contact(
                    complaint.pk,
                    user=user,
                    channel=data["channel"],
                    direction=data["direction"],
                    summary=data["text"],
                    contacted_at=data.get("contacted_at"),
                    source=source,
                )
        except NotPermitted as exc:
            raise PermissionDenied(exc.message) from exc
        except ServiceError as exc:
            raise serializers.ValidationError({"detail": exc.message}) from exc
        return Response(EventSerializer(event).data, status=status.HTTP_201_CREATED)


class DepartmentViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = r"[-a-zA-Z0-9_]+"  # codes are slugs
    queryset = Department.objects.select_related("parent").order_by("code")
    serializer_class = DepartmentSerializer
    lookup_field = "code"
    pagination_class = None


class CategoryViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = r"[-a-zA-Z0-9_]+"  # codes are slugs
    queryset = Category.objects.select_related("parent", "default_department").order_by("sort_key")
    serializer_class = CategorySerializer
    lookup_field = "code"
    pagination_class = None
