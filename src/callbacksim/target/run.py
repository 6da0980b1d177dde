"""Running the reference target: in the running loop (`start`), until a signal
(`serve_forever`, the CLI's ``serve``), or on a thread of its own (`BackgroundServer`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable
from types import TracebackType

import attrs
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from callbacksim.errors import UsageError
from callbacksim.target.app import make_app
from callbacksim.target.config import ServerConfig

log = logging.getLogger(__name__)


class _QuietAboutClients(logging.Filter):
    """Drops aiohttp's tracebacks for what a client did wrong (a malformed request, a connection
    dropped half-way): each is answered 4xx or closed, and a flood of them must not flood the log.
    Errors of the server itself are still logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, HttpProcessingError | ConnectionError)


_QUIET = _QuietAboutClients()


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


@attrs.define
class RunningServer:
    """A started server: where it listens, and `stop`."""

    url: str
    port: int
    _runner: web.AppRunner = attrs.field(repr=False, alias="runner")

    async def stop(self) -> None:
        """Stop listening, finish the requests in flight and close the store."""
        await self._runner.cleanup()


async def start(config: ServerConfig) -> RunningServer:
    """Start the reference target in the running event loop."""
    server_log = logging.getLogger("aiohttp.server")
    if _QUIET not in server_log.filters:
        server_log.addFilter(_QUIET)
    runner = web.AppRunner(make_app(config), access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port)
        try:
            await site.start()
        except OSError as exc:
            why = os.strerror(exc.errno).lower() if exc.errno else str(exc)
            msg = (
                f"cannot listen on {config.host} port {config.port}: {why}; choose another "
                "--port (0 picks a free one) or --host"
            )
            raise UsageError(msg) from None
        port = int(runner.addresses[0][1])
    except BaseException:
        await runner.cleanup()
        raise
    return RunningServer(url=_url(config.host, port), port=port, runner=runner)


def serve_forever(config: ServerConfig, *, ready: Callable[[str], None] | None = None) -> None:
    """Run the reference target until SIGINT or SIGTERM; ``ready(url)`` once it listens."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # no signal handlers here (not the main thread, or Windows)
        try:
            server = await start(config)
            try:
                if ready is not None:
                    ready(server.url)
                await stop.wait()
            finally:
                await server.stop()
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


class BackgroundServer:
    """The reference target on a thread of its own, with its own event loop.

    ``with BackgroundServer(config) as url: ...`` starts it and gives its URL; leaving the block
    stops it and joins the thread. `start` and `stop` do the same without ``with``.
    """

    def __init__(self, config: ServerConfig | None = None, *, timeout: float = 30.0) -> None:
        self.config = config if config is not None else ServerConfig()
        self._timeout = timeout
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            msg = "the background server is not running"
            raise RuntimeError(msg)
        return self._url

    def start(self) -> str:
        """Start the server thread; the URL once it listens (its startup error, raised here)."""
        if self._thread is not None:
            msg = "the background server is already started"
            raise RuntimeError(msg)
        self._thread = threading.Thread(target=self._main, name="callbacksim-target", daemon=True)
        self._thread.start()
        if not self._ready.wait(self._timeout):
            msg = f"the background server did not start within {self._timeout} s"
            raise TimeoutError(msg)
        if self._failure is not None:
            self._thread.join()
            self._thread = None
            raise self._failure
        return self.url

    def stop(self) -> None:
        """Stop the server and join its thread; does nothing if it is not running."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(stop.set)
        thread.join()
        self._thread = None
        self._url = None

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            if not self._ready.is_set():
                self._failure = exc
            else:
                log.exception("the background server failed")
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await start(self.config)
        try:
            self._url = server.url
            self._ready.set()
            await self._stop.wait()
        finally:
            await server.stop()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
