"""One JSON error shape for the whole API, and a rolled-back transaction behind every error.

Every error body has `detail` (for people) and `code` (for programs). Validation errors also carry
DRF's usual field errors beside them (`{"name": ["This field is required."]}`, `non_field_errors`),
so serializers must not name a field `detail` or `code`.

The tenant router runs each request in one transaction (tenantry.tenancy.middleware). An error
turned into a response here would otherwise let that transaction commit whatever the view had
written before failing, so every error marks it for rollback: an error response changes nothing.
"""
import logging

from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connections
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)

SERVER_ERROR = {"detail": "A server error occurred.", "code": "server_error"}


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def api_exception_handler(exc, context):
    _roll_back()
    known = _as_api_exception(exc)
    if known is None:
        view = context.get("view")
        logger.error("unhandled error in API view %s", type(view).__name__, exc_info=exc)
        return Response(SERVER_ERROR, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    response = exception_handler(known, context)  # DRF's: status, WWW-Authenticate, Retry-After
    response.data = error_body(known)
    return response


def error_body(exc: exceptions.APIException) -> dict:
    if isinstance(exc, exceptions.ValidationError):
        return {"detail": "Invalid input.", "code": "invalid", **as_serializer_error(exc)}
    return {"detail": str(exc.detail), "code": getattr(exc.detail, "code", exc.default_code)}


def _as_api_exception(exc) -> exceptions.APIException | None:
    """Django's own exceptions as their API equivalents. Messages are the generic ones: Django's
    (e.g. "No Project matches the given query.") name models."""
    if isinstance(exc, exceptions.APIException):
        return exc
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, DjangoValidationError):  # a model's full_clean() in a service
        return exceptions.ValidationError(as_serializer_error(exc))
    if isinstance(exc, RequestDataTooBig):  # a form body read by the CSRF check
        return PayloadTooLarge()
    if isinstance(exc, SuspiciousOperation):  # e.g. more query parameters than DATA_UPLOAD_MAX_NUMBER_FIELDS
        # logged as Django logs those it turns into a 400 itself
        logging.getLogger(f"django.security.{type(exc).__name__}").error(str(exc))
        return exceptions.ParseError()
    if isinstance(exc, BadRequest):
        return exceptions.ParseError()
    return None


def _roll_back() -> None:
    for connection in connections.all(initialized_only=True):
        if connection.in_atomic_block:
            connection.set_rollback(True)
