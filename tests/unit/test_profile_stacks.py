"""bench/stacks.py: py-spy's collapsed stacks folded into the shares `make profile` reports."""
import pytest

from bench import stacks

RUN = "run (gunicorn/workers/gthread.py:80)"
HANDLE = "handle (django/core/handlers/wsgi.py:120)"
RENDER = "render (django/template/base.py:170)"
EXECUTE = "execute (psycopg/cursor.py:97)"
HOME = "home (tenantry/dashboard/views.py:15)"
COLLAPSED = f"""
{RUN};{HANDLE};{RENDER} 6
{RUN};{HANDLE};{HOME};{EXECUTE} 3
{RUN};{HOME} 1
"""


def test_self_and_inclusive_shares():
    parsed = stacks.parse(COLLAPSED)
    areas = {share.name: share for share in stacks.by_area(parsed)}
    assert areas["django/template"].self_share == pytest.approx(0.6)
    assert areas["psycopg"].self_share == pytest.approx(0.3)
    assert areas["django/core"].self_share == 0  # it only calls
    assert areas["django/core"].total_share == pytest.approx(0.9)  # on 9 of the 10 samples' stacks
    assert areas["gunicorn"].total_share == 1
    assert list(areas)[:3] == ["django/template", "psycopg", "tenantry/dashboard"]


def test_ties_are_ranked_the_same_every_time():
    parsed = stacks.parse(COLLAPSED)
    top = stacks.top_functions(parsed, n=5)
    assert [t.name for t in top[:3]] == [RENDER, EXECUTE, HOME]
    # Neither run nor handle is innermost anywhere: the one on more stacks first (run: 10, handle: 9).
    assert [t.name for t in top[3:]] == [RUN, HANDLE]
    tied = stacks.parse(f"{RUN};{HANDLE} 2\n{HANDLE};{RUN} 2\n")
    assert [t.name for t in stacks.top_functions(tied, n=2)] == sorted([HANDLE, RUN])


def test_areas_of_paths_py_spy_writes():
    assert stacks.area("query (/usr/lib/python3.11/threading.py:320)") == "threading"
    assert stacks.area("get (redis/client.py:12)") == "redis"
    assert stacks.area("x (/srv/.venv/lib/python3.11/site-packages/django/db/models/query.py:9)") == "django/db"
    assert stacks.area("process 4242:\"gunicorn: worker\"") == "process 4242:\"gunicorn: worker\""


def test_a_torn_frame_with_control_characters_stays_on_its_line():
    torn = "loads (\x0b:1558535552)"  # as py-spy read it from a frame that was changing
    (stack,) = stacks.parse(f"{RUN};{torn} 1\n")
    assert stack.frames == (RUN, torn) and stack.samples == 1


def test_a_malformed_line_is_an_error_and_nothing_is_an_empty_report():
    with pytest.raises(ValueError, match="line 2"):
        stacks.parse(f"{RUN} 1\nno count here\n")
    assert stacks.by_area([]) == []
    assert stacks.report(stacks.parse(COLLAPSED)).startswith("10 samples")
