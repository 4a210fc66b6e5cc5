"""`python -m localplatform up|down|status|clean|deps`: what the Makefile targets call."""
import sys

from . import stack
from .deps import ensure_all
from .proc import PlatformError

COMMANDS = {"up": stack.up, "down": stack.down, "clean": stack.clean, "deps": ensure_all,
            "status": lambda: sys.exit(0 if stack.status() else 3)}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in COMMANDS:
        print(f"usage: python -m localplatform {{{'|'.join(COMMANDS)}}}", file=sys.stderr)
        return 2
    try:
        COMMANDS[argv[0]]()
    except PlatformError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
