"""The global test guard: no network beyond loopback, and no embedded model unless `live`.

- For the whole session, ``socket.getaddrinfo`` and ``socket.socket.connect`` refuse any
  non-loopback address (`NetworkBlocked`). Tests may start loopback servers of their own.
- The `no_network` fixture blocks loopback too, for tests that prove replay opens no socket.
- Tests not marked ``live`` run with ``DRAFTING_FORBID_LOCAL_SERVER`` set, so starting the
  embedded model server raises a clear `ConfigError` instead of silently loading a model.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest

FORBID_ENV = "DRAFTING_FORBID_LOCAL_SERVER"  # read by drafting.llm.local_server
_state = {"block_loopback": False}
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


class NetworkBlocked(RuntimeError):
    """A test tried to reach an address the guard forbids."""


def _is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _check(host: object) -> None:
    if _state["block_loopback"]:
        raise NetworkBlocked(f"test guard: all networking is blocked in this test (to {host!r})")
    if not _is_loopback(host):
        raise NetworkBlocked(f"test guard: tests may not reach non-loopback address {host!r}")


def _guarded_connect(self: socket.socket, address: object) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _check(address[0])  # type: ignore[index]
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _check(address[0])  # type: ignore[index]
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    if host is not None:
        _check(host)
    return _real_getaddrinfo(host, *args, **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _guarded_getaddrinfo


def pytest_unconfigure(config: pytest.Config) -> None:
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _real_getaddrinfo


@pytest.fixture(autouse=True)
def _embedded_model_guard(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only tests marked ``live`` may start the embedded model server.

    A server a live test left running is stopped before a test that is not live: otherwise that
    test would reuse it, and the guard (and tests of it) would see no start attempt.
    """
    if request.node.get_closest_marker("live") is None:
        from drafting.llm.local_server import current_server, stop_server

        if current_server() is not None:
            stop_server()
        monkeypatch.setenv(
            FORBID_ENV,
            f"{request.node.nodeid} is not marked @pytest.mark.live (only live tests may start "
            "the embedded model; use fixtures in replay mode or a loopback fake server)",
        )
    else:
        monkeypatch.delenv(FORBID_ENV, raising=False)


@pytest.fixture
def no_network():
    """Block every connection, loopback included, for the duration of the test."""
    _state["block_loopback"] = True
    try:
        yield
    finally:
        _state["block_loopback"] = False
