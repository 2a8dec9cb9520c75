"""A partner server on its own event loop thread, for tests, benchmarks and demos that drive
nodes from ordinary (blocking) code in the same process::

    with ServerThread(settings) as server:        # started; server.port is bound
        ...                                       # query it
                                                  # stopped (grace 0) on leaving
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

from matcher.service.server import PartnerServer
from matcher.service.settings import NodeSettings

#: Longest wait for a node to open its home and bind (s).
START_TIMEOUT_S = 120


class ServerThread:
    """Runs ``PartnerServer(settings)`` on a private event loop in a daemon thread."""

    def __init__(self, settings: NodeSettings, *, insecure_dev: bool = False):
        self.server = PartnerServer(settings, insecure_dev=insecure_dev)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name=f"prum-node-{settings.partner}")
        self._thread.start()
        self.port: int | None = None

    def call(self, coroutine, timeout: float | None = None):
        """Run ``coroutine`` on the server's loop and return its result."""
        future: Future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout)

    def start(self) -> int:
        try:
            self.port = self.call(self.server.start(), START_TIMEOUT_S)
        except BaseException:
            self._end_loop()
            raise
        return self.port

    def stop(self, grace: float = 0) -> None:
        """Stop the server (calls in flight get ``grace`` seconds) and end the thread."""
        if self.loop.is_closed():
            return
        try:
            self.call(self.server.stop(grace), START_TIMEOUT_S)
        finally:
            self._end_loop()

    def _end_loop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(START_TIMEOUT_S)
        self.loop.close()

    @property
    def node(self):
        return self.server.node

    def __enter__(self) -> "ServerThread":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
