"""`python -m localplatform COMMAND`: what the Makefile targets call."""
import shutil
import sys

from . import cluster, config, stack
from .deps import ensure_all, ensure_venv
from .proc import PlatformError


def clean() -> None:
    cluster.down()
    stack.clean()
    shutil.rmtree(config.NODE_DATA, ignore_errors=True)  # the node's backup volume, outside .local


COMMANDS = {"up": stack.up, "down": lambda: stack.down(cluster.components()), "clean": clean, "deps": ensure_all,
            "venv": ensure_venv,
            "status": lambda: sys.exit(0 if stack.status(cluster.components()) else 3),
            "cluster": cluster.up, "cluster-down": cluster.down, "cluster-build": cluster.build}


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
