"""The error responses of the OpenAPI document, worked out from what each view is made of.

Every operation lists each error it can give, with its body (`Error`; `ValidationError` for a 400)
and the codes it may carry, and no error it cannot give:

- 400 where input is parsed: a JSON body (POST, PUT, PATCH), or a query string the operation takes
  parameters in (`invalid` where they are declared with a serializer in
  @extend_schema(parameters=...), which the view validates);
- 401 under authentication classes (no credentials where they are needed, or bad ones);
- 402 for the writes WritesNeedLiveSubscription guards;
- 403 under permissions other than AllowAny (not a member), and for writes under session
  authentication (the CSRF check);
- 404 where the path names an object, and on paginated lists (a page past the last);
- 406 everywhere (JSON is the only representation); 413 and 415 wherever a body is parsed;
- 429 under throttle classes;
- and what the view's own code raises, named in its `raises`.

A 405 is no operation's: the document lists only the methods a path allows. A 500 is a bug, not part
of the contract.
"""
import copy
import re
from collections import defaultdict

import uritemplate
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_array_type, build_basic_type, get_view_model, is_serializer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS, AllowAny
from rest_framework.settings import api_settings

from tenantry.api.exceptions import PayloadTooLarge
from tenantry.api.parsers import BoundedJSONParser
from tenantry.api.permissions import SubscriptionRequired, WritesNeedLiveSubscription
from tenantry.api.serializers import ErrorSerializer, ValidationErrorSerializer

BODY_METHODS = {"POST", "PUT", "PATCH"}
PATH_PARAMETER = re.compile(r"<(?:([^>:]+):)?(\w+)>")  # as django.urls.resolvers reads path("...<int:pk>...")

# Response headers that come with an error, always (tenantry.api.views.JsonApi, DRF's exception handler).
ERROR_HEADERS = {
    401: {"WWW-Authenticate": {"description": "The credential to send: a token (`Authorization: Token <token>`).",
                               "required": True, "schema": {"type": "string", "enum": ["Token"]}}},
    429: {"Retry-After": {"description": "Seconds to wait before trying again.",
                          "required": True, "schema": {"type": "integer", "minimum": 1}}},
}


class ValidationErrorExtension(OpenApiSerializerExtension):
    """`ValidationError`: `code` and `detail`, and any other key a field's messages."""
    target_class = ValidationErrorSerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["additionalProperties"] = build_array_type(build_basic_type(OpenApiTypes.STR))
        return schema


class ApiAutoSchema(AutoSchema):
    def _resolve_path_parameters(self, variables):
        """Path parameters; those of Django's <int:...> take digits only (a negative number would
        reach no view at all), so their minimum is 0."""
        parameters = super()._resolve_path_parameters(variables)
        digits_only = {"id" if name == "pk" and api_settings.SCHEMA_COERCE_PATH_PK else name
                       for converter, name in PATH_PARAMETER.findall(self.path_regex) if converter == "int"}
        for parameter in parameters:
            if parameter["name"] in digits_only and parameter["schema"].get("type") == "integer":
                parameter["schema"]["minimum"] = 0
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status, codes in sorted(self.error_codes().items()):
            if str(status) in responses:  # declared by hand with @extend_schema(responses=...)
                continue
            body = ValidationErrorSerializer if status == 400 else ErrorSerializer
            description = "\n".join(f"* `{code}`: {'; or '.join(reasons)}." for code, reasons in codes.items())
            response = self._get_response_for_code(OpenApiResponse(body, description=description), str(status),
                                                   direction=direction)
            if status in ERROR_HEADERS:
                response["headers"] = copy.deepcopy(ERROR_HEADERS[status])
            responses[str(status)] = response
        return responses

    def error_codes(self) -> dict[int, dict[str, list[str]]]:
        """{status: {code: [why, ...]}} of the errors this operation can give."""
        view, method = self.view, self.method
        errors: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))

        def add(exc: type[exceptions.APIException], why: str) -> None:
            errors[exc.status_code][exc.default_code].append(why.rstrip("."))

        parses_body = method in BODY_METHODS and bool(view.parser_classes)
        parses_query = any(parameter["in"] == "query" for parameter in self._get_parameters())
        if parses_body:
            add(exceptions.ParseError, "the body is not valid JSON")
            if any(issubclass(parser, BoundedJSONParser) for parser in view.parser_classes):
                add(PayloadTooLarge, "the body is larger than the API accepts")
            add(exceptions.UnsupportedMediaType, "the body is not `application/json`")
        if parses_query:  # (only views that take query parameters read the query string: JsonOnly)
            add(exceptions.ParseError, "the query string has more parameters than the API reads")
        if parses_body:
            add(exceptions.ValidationError, "the body is invalid")
        if any(is_serializer(parameter) for parameter in self.get_override_parameters()):
            add(exceptions.ValidationError, "a query parameter is invalid")

        permissions = [p for p in view.permission_classes if not issubclass(p, AllowAny)]
        if view.authentication_classes:
            if permissions:
                add(exceptions.NotAuthenticated, "no token or session was sent")
            add(exceptions.AuthenticationFailed, "the token is not valid")
        for permission in permissions:
            if issubclass(permission, WritesNeedLiveSubscription):
                if method not in SAFE_METHODS:
                    add(SubscriptionRequired, "writes need a live subscription (a plan or a trial)")
            else:
                add(exceptions.PermissionDenied, getattr(permission, "message", None) or "not allowed")
        if method not in SAFE_METHODS and any(issubclass(a, SessionAuthentication)
                                              for a in view.authentication_classes):
            add(exceptions.PermissionDenied, "a write signed in by session lacks its CSRF token")

        if uritemplate.variables(self.path):
            model = get_view_model(view)
            what = model._meta.verbose_name if model else "object"
            add(exceptions.NotFound, f"no {what} has this " + ", ".join(f"`{name}`" for name in
                                                               sorted(uritemplate.variables(self.path))))
        if self._is_list_view() and self._get_paginator():
            add(exceptions.NotFound, "no such page")
        add(exceptions.NotAcceptable, "the Accept header rules out `application/json`")
        if view.throttle_classes:
            add(exceptions.Throttled, "too many requests")
        for exc in getattr(view, "raises", []):
            add(exc, str(exc.default_detail))
        return errors
