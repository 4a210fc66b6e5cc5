"""Break the running platform on purpose, under load, and prove nothing acknowledged was lost.

`python -m chaos` (`make chaos`) drives API writes against the `make up` platform while it injects one
fault at a time; the suite's smoke test drives the same code against its own gunicorn. Standard library,
psycopg and `localplatform` only: no Django in this process, so the ledger check reads the tables
behind the app's back.
"""
