"""JSON bodies with the size limit Django applies to forms.

DRF's parsers read the body straight from the WSGI stream, so DATA_UPLOAD_MAX_MEMORY_SIZE, which
Django enforces only in `request.body` and form parsing, would not bound what a client can make a
worker hold in memory.
"""
import io

from django.conf import settings
from rest_framework.parsers import JSONParser

from tenantry.api.exceptions import PayloadTooLarge


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(body) > limit:
            raise PayloadTooLarge()
        return super().parse(io.BytesIO(body), media_type, parser_context)
