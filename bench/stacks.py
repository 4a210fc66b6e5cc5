"""py-spy's collapsed stacks ("frame;frame;frame count" per line, outermost frame first) folded into
what `make profile` reports: the share of samples by area of the code (a package, or a part of
Django and of Tenantry) and the functions that spend the most samples themselves.

Pure functions over text, unit-tested in tests/unit/test_profile_stacks.py.
"""
import re
from collections import Counter
from dataclasses import dataclass

# py-spy writes a frame as "function (path/to/file.py:line)": a path relative to where the module was
# imported from, or with --full-filenames an absolute one, whose import root _ROOT strips.
_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^()]*?)(?::\d+)?\)$")
_ROOT = re.compile(r"^.*(?:/site-packages/|/lib/python3\.\d+/|/app/)")
# Areas split one level deeper: "django/db" and "django/template" say more than "django".
_SPLIT = ("django", "tenantry", "rest_framework")


@dataclass(frozen=True)
class Stack:
    frames: tuple[str, ...]
    samples: int


@dataclass(frozen=True)
class Share:
    name: str
    self_share: float  # of every sample, those whose innermost frame is here
    total_share: float  # of every sample, those with this anywhere on the stack


def parse(text: str) -> list[Stack]:
    """Every stack of a collapsed-stack file; blank lines are skipped, a malformed one is an error.
    Lines end at "\n" only: a frame py-spy read from a worker mid-change (--nonblocking) may hold
    any other character, vertical tab and form feed included, which str.splitlines() would split at."""
    stacks = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        frames, _, count = line.rpartition(" ")
        if not frames or not count.isdigit():
            raise ValueError(f"line {number} is not 'frame;frame count': {line[:120]!r}")
        stacks.append(Stack(tuple(frames.split(";")), int(count)))
    return stacks


def area(frame: str) -> str:
    """The part of the code a frame is in: django/db, psycopg, tenantry/dashboard, threading..."""
    match = _FRAME.match(frame)
    if match is None:
        return frame  # py-spy's own markers, such as a thread's name
    parts = _ROOT.sub("", match["path"]).split("/")
    if parts[0] in _SPLIT and len(parts) > 2:
        return "/".join(parts[:2])
    return parts[0].removesuffix(".py")


def by_area(stacks: list[Stack]) -> list[Share]:
    """Areas by self share, largest first (ties by name, so a report reads the same every time)."""
    return _shares(stacks, area)


def top_functions(stacks: list[Stack], n: int) -> list[Share]:
    """The `n` functions with the largest self share (ties by name)."""
    return _shares(stacks, lambda frame: frame)[:n]


def _shares(stacks: list[Stack], key) -> list[Share]:
    total = sum(stack.samples for stack in stacks)
    if total == 0:
        return []
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    for stack in stacks:
        own[key(stack.frames[-1])] += stack.samples
        for name in {key(frame) for frame in stack.frames}:
            anywhere[name] += stack.samples
    ranked = sorted(anywhere, key=lambda name: (-own[name], -anywhere[name], name))
    return [Share(name, own[name] / total, anywhere[name] / total) for name in ranked]


def report(stacks: list[Stack], areas: int = 15, functions: int = 25) -> str:
    """The text of web-top.txt."""
    def table(title: str, shares: list[Share]) -> list[str]:
        return [title, f"  {'self':>6} {'total':>6}  name",
                *(f"  {s.self_share:6.1%} {s.total_share:6.1%}  {s.name}" for s in shares), ""]

    samples = sum(stack.samples for stack in stacks)
    return "\n".join([f"{samples} samples of the web workers' threads holding the GIL", "",
                      *table("by area (self: the innermost frame is there; total: anywhere on the stack)",
                             by_area(stacks)[:areas]),
                      *table("by function", top_functions(stacks, functions))])
