"""The tenant's REST API, version 1. Views are thin: serializers validate, tenantry.projects.services
writes, tenantry.projects.selectors reads. A project of another tenant is not in this tenant's
schema, so asking for its id is a plain 404."""
from django.contrib.auth import authenticate
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import exceptions, generics
from rest_framework.authtoken.models import Token
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from tenantry.accounts import ratelimit
from tenantry.api.exceptions import api_exception_handler
from tenantry.api.pagination import ApiPagination
from tenantry.api.parsers import BoundedJSONParser
from tenantry.api.permissions import IsTenantMember, WritesNeedLiveSubscription, tenant_role
from tenantry.api.schema import ApiAutoSchema
from tenantry.api.serializers import (
    PROJECT_ORDERINGS,
    MeSerializer,
    ProjectQuerySerializer,
    ProjectSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)
from tenantry.projects import selectors, services


class JsonOnly(DefaultContentNegotiation):
    """JSON is the only representation, so `?format=` is not read: DRF answers one naming another
    format with a 404, as if the resource were not there, and reading it would parse the query string
    of every request, not only of the views that take parameters there. An Accept header that rules
    JSON out is still a 406."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return super().select_renderer(request, renderers, format_suffix="json")


class JsonApi:
    """What every endpoint shares: JSON in (bounded), JSON out, errors in one shape."""
    renderer_classes = [JSONRenderer]
    parser_classes = [BoundedJSONParser]
    content_negotiation_class = JsonOnly
    pagination_class = ApiPagination
    # The OpenAPI document lists each operation's errors, from what the view is made of, plus the
    # APIExceptions its own code raises, named in `raises`.
    schema = ApiAutoSchema()
    raises: list[type[exceptions.APIException]] = []

    def get_exception_handler(self):
        return api_exception_handler

    def get_authenticate_header(self, request):
        # A missing or bad credential is a 401 naming the token scheme, whatever the order of the
        # authentication classes (DRF turns it into a 403 when the first one, the session, names none).
        return "Token"


class ApiRootView(JsonApi, APIView):
    """Where things are; public, since it says nothing about the tenant. Route names are reversed
    within the request's version namespace (NamespaceVersioning)."""
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request):
        return Response({name: reverse(route, request=request) for name, route in
                         [("token", "token"), ("me", "me"), ("projects", "project-list")]})


class UnknownEndpointView(JsonApi, APIView):
    """Any other path under /api/ ending in a slash: a JSON 404 for every method, not Django's HTML
    page (paths without the slash still get Django's redirect to it, then this)."""
    authentication_classes: list = []
    permission_classes = [AllowAny]
    schema = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise exceptions.NotFound()


class InvalidCredentials(exceptions.AuthenticationFailed):
    default_detail = "Unable to sign in with that email and password."
    default_code = "invalid_credentials"


class TooManyAttempts(exceptions.Throttled):
    default_detail = "Too many failed sign-in attempts."


class TokenView(JsonApi, APIView):
    """Exchange a member's email and password for their API token.

    Authentication goes through the tenant membership backend, so only members of this tenant get a
    token here; a wrong password and a non-member get the same answer. Failed attempts are bounded
    per email and per client address, on the same counters as the sign-in page
    (tenantry.accounts.ratelimit), so the two entry points do not add up to twice the guesses. No
    session is involved, so there is nothing for CSRF to protect.
    """
    authentication_classes: list = []
    permission_classes = [AllowAny]
    raises = [InvalidCredentials, TooManyAttempts]

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenSerializer}, auth=[])
    def post(self, request):
        credentials = TokenRequestSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        email, password = credentials.validated_data["email"], credentials.validated_data["password"]
        wait = ratelimit.retry_after(request._request, email)
        if wait is not None:
            raise TooManyAttempts(wait=wait)
        user = authenticate(request=request._request, username=email, password=password)
        if user is None:
            ratelimit.record_failure(request._request, email)
            raise InvalidCredentials()
        token, _ = Token.objects.get_or_create(user=user)
        return Response(TokenSerializer({"token": token.key}).data)


@method_decorator(ensure_csrf_cookie, name="dispatch")
class MeView(JsonApi, APIView):
    """Who is calling, at which tenant, in which role. It also sets the CSRF cookie, which a browser
    client signed in by session sends back in X-CSRFToken on writes."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = request.user
        return Response(MeSerializer({
            "user": {"id": user.pk, "email": user.email, "full_name": user.full_name},
            "tenant": {"display_name": request.tenant.display_name},
            "role": tenant_role(request),
        }).data)


@extend_schema(methods=["GET"], parameters=[ProjectQuerySerializer])
class ProjectListView(JsonApi, generics.ListCreateAPIView):
    """The tenant's projects, a page at a time, newest first unless ordered otherwise; or a new one,
    owned by the caller."""
    serializer_class = ProjectSerializer
    permission_classes = [IsTenantMember, WritesNeedLiveSubscription]

    def get_queryset(self):
        query = ProjectQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        projects = selectors.project_list(search=filters.get("search", ""), status=filters.get("status", ""))
        return projects.order_by(*PROJECT_ORDERINGS[filters["ordering"]])

    def perform_create(self, serializer):
        serializer.instance = services.create_project(owner=self.request.user, **serializer.validated_data)


class ProjectDetailView(JsonApi, generics.RetrieveUpdateDestroyAPIView):
    """One project: read, replace, change or delete it."""
    serializer_class = ProjectSerializer
    permission_classes = [IsTenantMember, WritesNeedLiveSubscription]

    def get_queryset(self):
        return selectors.project_list()

    def perform_update(self, serializer):
        serializer.instance = services.update_project(serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.delete_project(instance)


class SchemaView(SpectacularAPIView):
    """The OpenAPI document of v1 (YAML; JSON with ?format=json). Public: it is the same for every
    tenant and says nothing about any of them."""
    authentication_classes: list = []
    permission_classes = [AllowAny]
    api_version = "v1"

    def get_exception_handler(self):
        return api_exception_handler
