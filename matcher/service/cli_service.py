"""``matcher serve`` and ``matcher query``: argument parsing and printing around the server
and the fan-out client.  Exit status: 0 all good; 1 some partner failed or refused, or some
query line was rejected; 2 usage, configuration or environment error.

    matcher serve CONFIG.toml [--insecure-dev]
    matcher query CONFIG.toml dna|finger|vehicle QUERIES.jsonl [--partner CODE ...]
                  --officer ID --purpose TEXT [--case REF] [--timeout S]
    matcher query CONFIG.toml dna --nightly [--since GENERATION] [--kinds stain[,person]]
                  [--batch-size N] [--partner CODE ...] --officer ID --purpose TEXT

This module holds ``serve`` and the wiring into ``matcher``'s parser; the ``query`` command
lives in ``matcher.service._cli_query`` (its nightly form in ``_cli_nightly``) and is
re-exported here.
"""

from __future__ import annotations

import argparse
import logging
import sys

from matcher.service._cli_output import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, emit, fail
from matcher.service._cli_query import (
    OFFICER_ENV, PURPOSE_ENV, PURPOSE_NOT_STATED, add_query_arguments, run_query,
)

__all__ = ["EXIT_OK", "EXIT_SOME_FAILED", "EXIT_USAGE", "OFFICER_ENV", "PURPOSE_ENV",
           "PURPOSE_NOT_STATED", "add_arguments", "add_query_arguments", "add_serve_arguments",
           "run_query", "run_serve"]


# ------------------------------------------------------------------------------ serve
def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG.toml", help="the node configuration")
    parser.add_argument("--insecure-dev", action="store_true",
                        help="plaintext instead of mutual TLS, for development; refused "
                             "unless node.listen is a loopback address")
    parser.add_argument("--log-level", default="INFO",
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"))


def run_serve(args: argparse.Namespace) -> int:
    """Serve until SIGTERM/SIGINT.  Prints one JSON line on stdout once listening:
    ``{"partner", "listen", "port", "tls"}``."""
    # Before numba starts its thread pool (it reads the layer then, not at import).
    from matcher.service.server import pin_numba_threading_layer
    pin_numba_threading_layer()
    import asyncio

    from matcher.home import HomeError
    from matcher.service.audit import AuditError
    from matcher.service.server import ServeError, serve
    from matcher.service.settings import SettingsError, load_settings
    from matcher.store import StoreError

    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(args.config)

        def ready(port: int) -> None:
            host = settings.listen.rpartition(":")[0]
            emit({"partner": settings.partner, "listen": f"{host}:{port}", "port": port,
                  "tls": not args.insecure_dev})

        asyncio.run(serve(settings, insecure_dev=args.insecure_dev, ready=ready))
    except (SettingsError, ServeError, HomeError, StoreError, AuditError) as exc:
        return fail(str(exc))
    except KeyboardInterrupt:  # a second Ctrl-C during the grace period
        return 130
    return EXIT_OK


# ------------------------------------------------------------------------------ wiring
def add_arguments(subparsers) -> None:
    """Register ``serve`` and ``query`` on ``matcher``'s subparsers; each sets
    ``handler`` (args -> exit status)."""
    serve = subparsers.add_parser("serve", help="run this node's partner service (gRPC, "
                                                "mutual TLS) until SIGTERM")
    add_serve_arguments(serve)
    serve.set_defaults(handler=run_serve)
    query = subparsers.add_parser("query", help="ask partners concurrently; one JSON line "
                                                "per partner answer")
    add_query_arguments(query)
    query.set_defaults(handler=run_query)
