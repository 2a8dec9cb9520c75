"""``matcher serve``: the partner gRPC server (``grpc.aio``) of one node.

    server = PartnerServer(load_settings("nl.toml"))
    port = await server.start()          # mutual TLS on [node] listen
    ...
    await server.stop()                  # graceful: health NOT_SERVING, calls finish

What runs: the four ``prum.v1`` services, the standard health service (``grpc.health.v1``,
one status per service and the overall "" status) and, only when ``node.reflection`` is
true, server reflection.  Request and answer size are capped at ``node.max_message_bytes``
(larger messages: RESOURCE_EXHAUSTED from gRPC itself, before any of our code runs).

Transport: mutual TLS always.  ``insecure_dev=True`` serves plaintext and is refused unless
the listen address is a loopback address (``--insecure-dev`` for local development only).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio

from matcher.service.node import Node
from matcher.service.servicers import SERVICERS
from matcher.service.settings import NodeSettings, SettingsError, is_loopback
from matcher.service.tls import server_credentials

log = logging.getLogger("matcher.service")

#: Full names of the services this node serves (health and reflection use them).
SERVICE_NAMES = ("prum.v1.DnaService", "prum.v1.FingerService", "prum.v1.VehicleService",
                 "prum.v1.CapabilitiesService")
#: Purge audit entries past retention (and old quota counters) this often (s); also once
#: at start-up.
AUDIT_PURGE_INTERVAL_S = 24 * 3600
#: The threading layer numba must use: its fallback (workqueue) aborts the process when
#: several threads run parallel kernels at once, as gRPC's pool does (notes/performance.md).
NUMBA_THREADING_LAYER = "omp"


class ServeError(RuntimeError):
    """The server cannot start; the message says why (exit status 2)."""


def pin_numba_threading_layer() -> None:
    """Pin numba's threading layer unless the operator chose one (``NUMBA_THREADING_LAYER``).
    numba reads the setting when it starts its thread pool, not at import (and importing
    ``matcher`` imports numba), so this works until the first parallel kernel or
    ``numba_threading_layer()`` runs."""
    os.environ.setdefault("NUMBA_THREADING_LAYER", NUMBA_THREADING_LAYER)
    import sys
    config = getattr(sys.modules.get("numba"), "config", None)
    if config is not None and getattr(config, "THREADING_LAYER", "default") == "default":
        config.THREADING_LAYER = os.environ["NUMBA_THREADING_LAYER"]


def numba_threading_layer() -> str:
    """Start numba's thread pool now and return the layer it chose, so a node whose pinned
    layer cannot load fails at start-up, not under load in the middle of a search."""
    import numba
    try:
        from numba.np.ufunc import parallel   # numba's own start-up of its thread pool
        parallel._launch_threads()
        return numba.threading_layer()
    except (ImportError, AttributeError):     # another numba version: report the setting
        return f"{numba.config.THREADING_LAYER} (configured)"


class PartnerServer:
    """One node's gRPC server; ``start`` then ``stop`` (or ``serve_until_signal``)."""

    def __init__(self, settings: NodeSettings, *, insecure_dev: bool = False):
        if insecure_dev and not is_loopback(settings.listen_host):
            raise ServeError(f"--insecure-dev serves plaintext and only on a loopback address; "
                             f"node.listen is {settings.listen}")
        self.settings = settings
        self.insecure_dev = insecure_dev
        self.node: Node | None = None
        self.port: int | None = None
        self._server: grpc.aio.Server | None = None
        self._health: health_aio.HealthServicer | None = None
        self._purger: asyncio.Task | None = None
        self.threading_layer = ""

    async def start(self) -> int:
        """Bind, open the home and start serving; returns the bound port.  The address is
        bound first, so a second node started on the same address fails before it touches
        the home."""
        settings = self.settings
        credentials = None if self.insecure_dev else server_credentials(settings.tls)
        pin_numba_threading_layer()   # no effect once numba's pool runs; the CLI pins earlier
        try:
            self.threading_layer = numba_threading_layer()
        except ValueError as exc:  # "No threading layer could be loaded"
            raise ServeError(f"numba threading layer {os.environ.get('NUMBA_THREADING_LAYER')}"
                             f" unavailable: {exc}") from None
        server = grpc.aio.server(options=[
            ("grpc.max_receive_message_length", settings.max_message_bytes),
            ("grpc.max_send_message_length", settings.max_message_bytes),
            # A second node on the same address must fail, not share the port silently.
            ("grpc.so_reuseport", 0),
        ])
        try:
            if credentials is None:
                port = server.add_insecure_port(settings.listen)
            else:
                port = server.add_secure_port(settings.listen, credentials)
        except RuntimeError:
            port = 0
        if not port:
            raise ServeError(f"node.listen: cannot listen on {settings.listen} "
                             "(address in use, or not an address of this machine)")
        self.node = Node.open(settings, insecure_dev=self.insecure_dev)
        try:
            await asyncio.get_running_loop().run_in_executor(
                self.node.ledger, self.node.housekeeping)
            for servicer, add in SERVICERS:
                add(servicer(self.node), server)
            self._health = health_aio.HealthServicer()
            health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
            if settings.reflection:
                from grpc_reflection.v1alpha import reflection
                reflection.enable_server_reflection(
                    SERVICE_NAMES + (health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                                     reflection.SERVICE_NAME), server)
            await server.start()
        except BaseException:
            await self._close_node()
            raise
        self._server = server
        for name in SERVICE_NAMES + ("",):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self._purger = asyncio.get_running_loop().create_task(self._purge_daily())
        self.port = port
        log.info("node %s serving %s on port %d (%s, reflection %s, numba threading layer %s)",
                 settings.partner, settings.home, port,
                 "PLAINTEXT, development only" if self.insecure_dev else "mutual TLS",
                 "on" if settings.reflection else "off", self.threading_layer)
        return port

    async def stop(self, grace: float | None = None) -> None:
        """Stop accepting calls, let calls in flight finish for ``grace`` seconds (default
        ``node.grace_seconds``), then close the home."""
        grace = self.settings.grace_seconds if grace is None else grace
        if self._purger is not None:
            self._purger.cancel()
            self._purger = None
        if self._server is not None:
            if self._health is not None:
                await self._health.enter_graceful_shutdown()
            await self._server.stop(grace)
            self._server = None
        await self._close_node()

    async def _close_node(self) -> None:
        if self.node is not None:
            node, self.node = self.node, None
            await node.close()

    async def wait(self) -> None:
        if self._server is not None:
            await self._server.wait_for_termination()

    async def serve_until_signal(self) -> None:
        """Serve until SIGTERM or SIGINT, then stop gracefully."""
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        try:
            await stopping.wait()
            log.info("node %s: stopping (grace %.1f s)", self.settings.partner,
                     self.settings.grace_seconds)
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            await self.stop()
        log.info("node %s: stopped", self.settings.partner)

    async def _purge_daily(self) -> None:
        while True:
            await asyncio.sleep(AUDIT_PURGE_INTERVAL_S)
            try:
                await self.node.in_ledger(self.node.housekeeping)
            except Exception:  # noqa: BLE001 - keep serving; verify will say what is wrong
                log.exception("audit purge failed")  # e.g. tampering found: verify says more


async def serve(settings: NodeSettings, *, insecure_dev: bool = False, ready=None) -> None:
    """Run a node until SIGTERM/SIGINT.  ``ready(port)`` is called once it listens."""
    server = PartnerServer(settings, insecure_dev=insecure_dev)
    try:
        port = await server.start()
    except SettingsError as exc:
        raise ServeError(str(exc)) from None
    if ready is not None:
        ready(port)
    await server.serve_until_signal()
