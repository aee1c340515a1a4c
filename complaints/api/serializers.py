"""The API's complaint contract. Times are ISO 8601 with offset (settings.TIME_ZONE)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..messages import source_text
from ..models import (
    Category,
    Channel,
    Complaint,
    ComplaintEvent,
    Customer,
    Department,
)
from ..privacy import shown
from ..services.customers import normalize_phone
from ..validators import validate_contacted_at, validate_received_at


class FieldsBoundOnce:
    """Serializer mixin for a serializer that only validates input, without context and not
    partial (the intake): its fields are built and bound once per class and language, on a
    template instance, and every instance validates with them, instead of DRF's deep copies
    of every declared field (nested serializers and their fields included) per request.
    Validation keeps no state on the fields but the validators' messages, hence one set per
    language (errors and values are returned; a field's root is the template, whose context
    is empty and which is not partial, as the instance's are). An instance given a context
    or `partial` builds its own fields as usual."""

    @property
    def fields(self):
        if self._context or self.partial:
            own = self.__dict__.get("_own_fields")
            if own is None:
                own = self.__dict__["_own_fields"] = serializers.Serializer.fields.func(self)
            return own
        cls = type(self)
        by_language = cls.__dict__.get("_shared_fields")
        if by_language is None:
            by_language = cls._shared_fields = {}
        # Per language: DRF's length and range validators keep their message once it has
        # been turned into text (lazy_format), so fields shared across languages would
        # answer every caller in the first caller's language.
        language = get_language()
        shared = by_language.get(language)
        if shared is None:
            shared = serializers.Serializer.fields.func(cls())
            by_language[language] = shared  # (two threads may each build one: the same)
        return shared


class CustomerSerializer(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()
    external_id = serializers.CharField()
    tier = serializers.ChoiceField(choices=Customer.Tier.choices)

    def to_representation(self, customer):
        pii = bool(self.context.get("pii"))
        return {
            "name": shown("name", customer.name, pii=pii),
            "phone": shown("phone", customer.phone, pii=pii),
            "email": shown("email", customer.email, pii=pii),
            "external_id": customer.external_id,
            "tier": customer.tier,
        }


class ComplaintSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    department = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    customer = CustomerSerializer(read_only=True)
    is_overdue = serializers.SerializerMethodField()
    severity_reason = serializers.SerializerMethodField()

    class Meta:
        model = Complaint
        fields = [
            "reference",
            "status",
            "severity",
            "severity_reason",
            "channel",
            "received_at",
            "subject",
            "description",
            "desired_outcome",
            "item_ref",
            "category",
            "department",
            "assignee",
            "customer",
            "external_ref",
            "ack_due_at",
            "response_due_at",
            "resolve_due_at",
            "acknowledged_at",
            "first_response_at",
            "resolved_at",
            "closed_at",
            "is_overdue",
            "deadline_provisional",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.BooleanField())
    def get_is_overdue(self, complaint) -> bool:
        return complaint.is_overdue(self.context.get("now"))

    @extend_schema_field(serializers.CharField())
    def get_severity_reason(self, complaint) -> str:
        # A stored message: its English text, as in the export (other systems read it).
        return source_text(complaint.severity_reason)


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    note = serializers.SerializerMethodField()

    class Meta:
        model = ComplaintEvent
        fields = [
            "kind",
            "created_at",
            "actor",
            "from_status",
            "to_status",
            "note",
            "contact_channel",
            "contact_direction",
            "data",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_note(self, event) -> str:
        # System texts are stored messages (data.message): their English text, as before.
        return event.note or source_text((event.data or {}).get("message"))


class ComplaintDetailSerializer(ComplaintSerializer):
    timeline = EventSerializer(many=True, read_only=True, source="events")

    class Meta(ComplaintSerializer.Meta):
        fields = [*ComplaintSerializer.Meta.fields, "timeline"]
        read_only_fields = fields


class CodeRelatedField(serializers.SlugRelatedField):
    """A code that PostgreSQL can look up (text there cannot hold NUL)."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)


class IntakeCustomerSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    external_id = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )

    def validate_phone(self, value):
        try:
            return normalize_phone(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    def validate(self, data):
        if not any(data.values()):
            raise serializers.ValidationError(
                _("Give at least the customer's name, phone, email or external id.")
            )
        return data


class IntakeSerializer(FieldsBoundOnce, serializers.Serializer):
    """A complaint sent in by another system. Nothing is written unless all of it is valid."""

    channel = serializers.ChoiceField(choices=Channel.choices)
    subject = serializers.CharField(max_length=300)
    description = serializers.CharField(allow_blank=True, required=False, default="")
    received_at = serializers.DateTimeField(required=False, validators=[validate_received_at])
    desired_outcome = serializers.CharField(allow_blank=True, required=False, default="")
    category = CodeRelatedField(
        slug_field="code",
        queryset=Category.objects.filter(active=True).select_related("default_department"),
        required=False,
        allow_null=True,
    )
    item_ref = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")
    households_affected = serializers.IntegerField(
        min_value=1, max_value=2_147_483_647, required=False, default=1
    )
    media_risk = serializers.BooleanField(required=False, default=False)
    litigation_risk = serializers.BooleanField(required=False, default=False)
    external_ref = serializers.CharField(
        max_length=100, allow_blank=True, required=False, default=""
    )
    customer = IntakeCustomerSerializer()


class NoteSerializer(serializers.Serializer):
    """An internal note, or a logged contact with the customer."""

    type = serializers.ChoiceField(choices=[("note", _("note")), ("contact", _("contact"))])
    text = serializers.CharField(max_length=10000)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    direction = serializers.ChoiceField(choices=ComplaintEvent.Direction.choices, required=False)
    contacted_at = serializers.DateTimeField(required=False, validators=[validate_contacted_at])

    def validate(self, data):
        if data["type"] == "contact":
            missing = {
                f: _("Required for a contact.") for f in ("channel", "direction") if f not in data
            }
            if missing:
                raise serializers.ValidationError(missing)
        return data


class DepartmentSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    email = serializers.CharField(read_only=True)  # may be empty: not format "email"

    class Meta:
        model = Department
        fields = ["code", "name", "name_en", "parent", "email", "active"]
        read_only_fields = fields


class CategorySerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    default_department = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    full_name = serializers.CharField(source="path", read_only=True)
    full_name_en = serializers.CharField(source="path_en", read_only=True)

    class Meta:
        model = Category
        fields = [
            "code",
            "name",
            "name_en",
            "full_name",
            "full_name_en",
            "parent",
            "default_department",
            "active",
        ]
        read_only_fields = fields
