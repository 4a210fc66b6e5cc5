"""What the API accepts and shows. Serializers validate and represent; writes go through
tenantry.projects.services, so a serializer never saves anything itself."""
from django.db.models.functions import Lower
from rest_framework import serializers

from tenantry.accounts.models import Membership
from tenantry.projects.models import Project

# ?ordering= values. Names sort as people read them, whatever the database's collation ("alpha"
# before "Zebra"); the id breaks ties so pages never repeat or skip a project.
PROJECT_ORDERINGS = {
    "-created_at": ("-created_at", "-id"),
    "created_at": ("created_at", "id"),
    "name": (Lower("name"), "id"),
    "-name": (Lower("name").desc(), "-id"),
}


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text='Send as the header "Authorization: Token <token>".')


class MeUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()


class MeTenantSerializer(serializers.Serializer):
    display_name = serializers.CharField()


class MeSerializer(serializers.Serializer):
    user = MeUserSerializer()
    tenant = MeTenantSerializer()
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class ProjectSerializer(serializers.ModelSerializer):
    owner = serializers.EmailField(source="owner.email", read_only=True)

    class Meta:
        model = Project
        fields = ["id", "name", "description", "status", "owner", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class ProjectQuerySerializer(serializers.Serializer):
    """The list's query parameters; a bad value is a 400, not silently ignored."""
    search = serializers.CharField(required=False, allow_blank=True, max_length=200,
                                   help_text="Matches name or description, case-insensitively.")
    status = serializers.ChoiceField(choices=Project.Status.choices, required=False, allow_blank=True)
    ordering = serializers.ChoiceField(choices=list(PROJECT_ORDERINGS), default="-created_at")


class ErrorSerializer(serializers.Serializer):
    """The body of every error response (tenantry.api.exceptions)."""
    code = serializers.CharField(help_text="What went wrong, for programs: e.g. `not_found`, `permission_denied`.")
    detail = serializers.CharField(help_text="What went wrong, for people.")


class ValidationErrorSerializer(ErrorSerializer):
    """The body of a 400. With `code` `invalid`, each field in error is a key of its own beside `code` and
    `detail`, holding that field's messages (`non_field_errors`: the body as a whole); with `parse_error`
    (a body that is not JSON, a query string that cannot be read) there are no others."""
    code = serializers.CharField(help_text="What went wrong, for programs: `invalid` or `parse_error`.")
