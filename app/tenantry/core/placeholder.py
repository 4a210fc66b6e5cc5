"""TEMPORARY scaffolding while apps are built in parallel; must be gone before the issue closes."""
from django.http import HttpResponse


def placeholder(request, *args, **kwargs):
    return HttpResponse("not built yet", status=501)
