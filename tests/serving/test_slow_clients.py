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


def logged(workspace, status: int) -> list[tuple]:
    from adapters.local import request_log
    from kernel.workspace import LocalTenant

    log = LocalTenant(workspace, "census-ml-prod").request_log_path
    with request_log.reader(log) as con:
        sql = f"SELECT status, error FROM {request_log.TABLE} WHERE status = ?"
        return con.execute(sql, [status]).fetchall()


def test_stalled_and_departing_clients_hold_nothing(tmp_path):
    """No step here waits on the clock to order events: each waits on the server's answer
    or on the log's row (ceilings far above any machine's need)."""
    workspace = serving_workspace(tmp_path)
    proc, url = server_process.mlops_serve(
        workspace, {"MLOPS_BODY_SECONDS": "1", "MLOPS_MAX_CONNECTIONS": "6"}
    )
    port = int(url.rsplit(":", 1)[1])
    try:
        slow = [stalled(port) for _ in range(3)]  # under the limit: each times out
        assert [status_of(c) for c in slow] == [408, 408, 408]  # after a second, not never
        for c in slow:
            c.close()
        leaving = stalled(port)  # headers and part of a body, then gone
        leaving.close()
        deadline = time.monotonic() + 120
        while not logged(workspace, 499) and time.monotonic() < deadline:
            time.sleep(0.1)
        crowd = [stalled(port) for _ in range(10)]  # at most 6 at once: 4 or more turned away
        statuses = [status_of(c) for c in crowd]
        assert set(statuses) <= {408, 503} and statuses.count(503) >= 4, statuses
        for c in crowd:
            c.close()
        stalled(port)  # still waiting when the stop comes: the stop is not held by it
        started = time.monotonic()
    finally:
        out = server_process.stop(proc)
    assert time.monotonic() - started < 60 and "Traceback" not in out  # bounded: ~6 s
    departed = logged(workspace, 499)  # the one that left, and the one the stop cut off
    assert departed and {e for _, e in departed} == {
        "client closed the connection before sending its body"
    }
    assert len(logged(workspace, 408)) >= 3
    assert not logged(workspace, 500)  # nothing counted as the server's fault
