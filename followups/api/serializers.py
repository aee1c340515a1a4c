"""Read-only API representations of follow-ups, surveys, repeat links and improvement
actions. No customer data: the complaint is named by its reference."""

from rest_framework import serializers

from ..models import FollowUp, ImprovementAction, RepeatLink, SurveyInvitation


class FollowUpSerializer(serializers.ModelSerializer):
    complaint = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    is_overdue = serializers.SerializerMethodField()

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "complaint",
            "round",
            "kind",
            "due_at",
            "assignee",
            "method",
            "status",
            "is_overdue",
            "required_before_close",
            "reached",
            "solved",
            "satisfaction",
            "comment",
            "done_at",
            "created_at",
        ]

    def get_is_overdue(self, obj) -> bool:
        return obj.is_overdue(self.context.get("now"))


class SurveySerializer(serializers.ModelSerializer):
    complaint = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    answered_at = serializers.DateTimeField(source="used_at", read_only=True)

    class Meta:
        model = SurveyInvitation
        fields = [
            "id",
            "complaint",
            "followup",
            "created_at",
            "expires_at",
            "answered_at",
            "outcome_score",
            "handling_score",
            "solved",
            "comment",
            "answered_language",
        ]


class RepeatLinkSerializer(serializers.ModelSerializer):
    complaint = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    earlier = serializers.SlugRelatedField(slug_field="reference", read_only=True)

    class Meta:
        model = RepeatLink
        fields = ["id", "complaint", "earlier", "basis", "days_between", "created_at"]


class ImprovementActionSerializer(serializers.ModelSerializer):
    root_cause = serializers.SlugRelatedField(slug_field="code", read_only=True)
    category = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    department = serializers.SlugRelatedField(slug_field="code", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    complaints = serializers.SlugRelatedField(slug_field="reference", read_only=True, many=True)

    class Meta:
        model = ImprovementAction
        fields = [
            "id",
            "title",
            "description",
            "root_cause",
            "category",
            "item_ref",
            "department",
            "owner",
            "due_date",
            "status",
            "complaints",
            "completed_at",
            "review_days",
            "before_complaints",
            "before_repeats",
            "after_complaints",
            "after_repeats",
            "verdict",
            "reviewed_at",
            "created_at",
            "updated_at",
        ]
