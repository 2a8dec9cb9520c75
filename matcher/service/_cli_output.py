"""What matcher's service commands print and return: one compact JSON object per line, and
the exit statuses of the CLI contract.

    0 (EXIT_OK) all good; 1 (EXIT_SOME_FAILED) some partner failed or refused, or some input
    line was rejected; 2 (EXIT_USAGE) usage, configuration or environment error.
"""

from __future__ import annotations

import json
import sys

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2


def emit(obj: dict, stream=None) -> None:
    """Write ``obj`` as one JSON line on ``stream`` (default: standard output), flushed so a
    reader of a long-running command sees each line as it happens."""
    stream = stream or sys.stdout
    stream.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
    stream.flush()


def fail(message: str, status: int = EXIT_USAGE) -> int:
    """Say ``message`` on standard error as ``matcher: ...`` and return ``status``."""
    print(f"matcher: {message}", file=sys.stderr)
    return status
