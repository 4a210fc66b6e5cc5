"""What the tests, `make bench` and `make chaos` share to drive a running platform: free ports,
direct database connections, polling, and Tenant manifests built as data.

It lives beside `localplatform` (importable from the virtualenv, see `localplatform.deps`) so that
none of them imports another's modules.
"""
