"""Limits on every call to an LLM server: a total deadline, a response-size cap and a cap on
the waits a server asks for.

The SDKs' ``timeout`` bounds each socket read, not a request: a server that sends its headers
or body a few bytes at a time holds a call for ever, an endless body fills memory, and
``Retry-After: 55`` sleeps 55 s per retry. :func:`budget` sets, for the calling thread, a
deadline and a byte cap that every socket operation of a client from :func:`http_client` obeys:
past the deadline a read or connect times out at once, past the cap a read fails, and the SDK
turns either into its connection error (a transient fault: retried, then the documented
fallback). :func:`sdk_client` also cuts the SDK's waits between retries (``Retry-After``, or
its back-off) to a cap and to what is left of the deadline. ``Budget.problem`` says which
limit tripped, for the error message.

httpx has no hook for this at the socket level; the client's connection pools are given a
wrapped network backend (httpcore's public ``NetworkBackend`` interface).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

_local = threading.local()


class Budget:
    """The limits of one call (all its retries): ``seconds`` in all, ``max_bytes`` per reply."""

    def __init__(self, seconds: float, max_bytes: int):
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.max_bytes = max_bytes
        self.received = 0  # bytes of the current reply
        self.problem: str | None = None  # which limit tripped

    def left(self) -> float:
        return self.end - time.monotonic()

    def timeout(self, timeout: float | None, error: type[Exception]) -> float:
        """The socket timeout to use now: ``timeout`` cut to the time left; ``error`` when
        none is left."""
        left = self.left()
        if left <= 0:
            self.problem = f"no reply within the total deadline of {self.seconds:g} s per call"
            raise error(self.problem)
        return left if timeout is None else min(timeout, left)

    def count(self, size: int, error: type[Exception]) -> None:
        self.received += size
        if self.received > self.max_bytes:
            self.problem = f"the reply is larger than the cap of {self.max_bytes:,} bytes"
            raise error(self.problem)


@contextlib.contextmanager
def budget(seconds: float, max_bytes: int) -> Iterator[Budget]:
    """Limits for the HTTP requests this thread makes inside the ``with`` block."""
    previous = getattr(_local, "budget", None)
    _local.budget = limits = Budget(seconds, max_bytes)
    try:
        yield limits
    finally:
        _local.budget = previous


def _current() -> Budget | None:
    return getattr(_local, "budget", None)


class _Stream:
    """A network stream whose reads and writes obey the thread's budget."""

    def __init__(self, inner: Any):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        import httpcore2

        limits = _current()
        if limits is None:
            return self._inner.read(max_bytes, timeout)
        try:
            data = self._inner.read(max_bytes, limits.timeout(timeout, httpcore2.ReadTimeout))
        except httpcore2.ReadTimeout:
            if limits.left() <= 0:
                limits.problem = (
                    f"no reply within the total deadline of {limits.seconds:g} s per call"
                )
            raise
        limits.count(len(data), httpcore2.ReadError)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        import httpcore2

        limits = _current()
        if limits is not None:
            limits.received = 0  # a new request: its reply starts
            timeout = limits.timeout(timeout, httpcore2.WriteTimeout)
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        import httpcore2

        limits = _current()
        if limits is not None:
            timeout = limits.timeout(timeout, httpcore2.ConnectTimeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend:
    """A network backend whose connections obey the thread's budget."""

    def __init__(self, inner: Any):
        self._inner = inner

    def _timeout(self, timeout: float | None) -> float | None:
        import httpcore2

        limits = _current()
        return timeout if limits is None else limits.timeout(timeout, httpcore2.ConnectTimeout)

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = self._inner.connect_tcp(
            host, port, self._timeout(timeout), local_address, socket_options
        )
        return _Stream(stream)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        stream = self._inner.connect_unix_socket(path, self._timeout(timeout), socket_options)
        return _Stream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def http_client() -> Any:
    """An ``httpx2.Client`` for an SDK (``http_client=``) whose requests obey :func:`budget`."""
    import httpx2

    client = httpx2.Client(follow_redirects=True)
    pools = [getattr(t, "_pool", None) for t in [client._transport, *client._mounts.values()]]
    pools = [pool for pool in pools if hasattr(pool, "_network_backend")]
    if not pools:  # httpx changed inside: better no LLM parent than one that can hang
        raise RuntimeError("teachers.bounded_http: this httpx2 has no connection pool to limit")
    for pool in pools:
        pool._network_backend = _Backend(pool._network_backend)
    return client


def sdk_client(sdk_class: type, max_retry_wait: float, **settings: Any) -> Any:
    """An SDK client (``openai.OpenAI``, ``anthropic.Anthropic``) whose requests obey
    :func:`budget` and whose waits between retries (``Retry-After`` or back-off) are at most
    ``max_retry_wait`` seconds and never past the deadline."""
    if not hasattr(sdk_class, "_calculate_retry_timeout"):
        raise RuntimeError(f"teachers.bounded_http: {sdk_class.__name__} changed its retries")

    class Bounded(sdk_class):
        def _calculate_retry_timeout(self, *args: Any, **kwargs: Any) -> float:
            wait = min(super()._calculate_retry_timeout(*args, **kwargs), max_retry_wait)
            limits = _current()
            return wait if limits is None else max(min(wait, limits.left()), 0.0)

    return Bounded(http_client=http_client(), **settings)
