"""The ceiling: a bare WSGI "hello" under the same gunicorn settings as the app."""


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "6")])
    return [b"hello\n"]
