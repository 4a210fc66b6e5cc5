from django.http import HttpResponse


def trivial(request):
    """No database, no template: what is left is the request path itself (middleware, routing)."""
    return HttpResponse("ok\n", content_type="text/plain")
