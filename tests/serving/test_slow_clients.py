"""Clients that stall or leave cannot hold the server: a body must arrive within
MLOPS_BODY_SECONDS (408), connections past MLOPS_MAX_CONNECTIONS are answered 503 at once,
a client that leaves mid-body is logged as its own doing (499), never as a 500, and a stop
is not held by them (docs/reliability.md)."""

import socket
import time

import pytest
import server_process
from serving_fixtures import serving_workspace

pytestmark = pytest.mark.slow  # a real server process


def stalled(port: int, sent: bytes = b'{"instances": [') -> socket.socket:
    """A client that sends its headers and the start of a body, then nothing."""
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n" + sent
    )
    return conn


def status_of(conn: socket.socket, wait: float = 30) -> int:
    conn.settimeout(wait)
    head = conn.recv(200)
    return int(head.split()[1]) if head else 0


def test_stalled_and_departing_clients_hold_nothing(tmp_path):
    workspace = serving_workspace(tmp_path)
    proc, url = server_process.mlops_serve(
        workspace, {"MLOPS_BODY_SECONDS": "1", "MLOPS_MAX_CONNECTIONS": "4"}
    )
    port = int(url.rsplit(":", 1)[1])
    try:
        slow = [stalled(port) for _ in range(3)]
        time.sleep(0.3)
        over = [stalled(port) for _ in range(3)]  # past the limit: 503 at once
        assert [status_of(c, 10) for c in over].count(503) >= 2
        assert [status_of(c) for c in slow] == [408, 408, 408]  # after a second, not never
        for c in slow + over:
            c.close()
        time.sleep(0.3)
        leaving = stalled(port)
        time.sleep(0.2)
        leaving.close()  # gone mid-body
        time.sleep(0.5)
        stalled(port)  # still waiting when the stop comes: the stop is not held by it
        started = time.monotonic()
    finally:
        out = server_process.stop(proc)
    assert time.monotonic() - started < 30 and "Traceback" not in out
    from adapters.local import request_log
    from kernel.workspace import LocalTenant

    log = LocalTenant(workspace, "census-ml-prod").request_log_path
    with request_log.reader(log) as con:
        rows = con.execute(f"SELECT status, error FROM {request_log.TABLE}").fetchall()
    statuses = sorted(s for s, _ in rows)
    assert statuses.count(408) == 3 and 499 in statuses
    assert not [s for s in statuses if s >= 500 and s != 503]  # nothing counted as a fault
    assert any(e == "client closed the connection before sending its body" for _, e in rows)
