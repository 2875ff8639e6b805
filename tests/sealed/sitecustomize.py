"""Sealed: a process started with this folder first on PYTHONPATH may reach this machine
only. Any other host it resolves or connects to is written to $MLOPS_SEALED_LOG and refused,
so a test can prove a run against the simulated cloud never left the machine."""

import os
import socket

_LOG = os.environ.get("MLOPS_SEALED_LOG", "")
_LOCAL = {"127.0.0.1", "localhost", "::1", "0.0.0.0", "", None}
_getaddrinfo = socket.getaddrinfo
_connect = socket.socket.connect


def _refuse(what: str) -> None:
    if _LOG:
        with open(_LOG, "a") as log:
            log.write(f"{os.getpid()} {what}\n")
    raise OSError(f"sealed: {what} would leave the machine")


def getaddrinfo(host, *args, **kwargs):
    if host not in _LOCAL and not str(host).startswith("127."):
        _refuse(f"resolve {host}")
    return _getaddrinfo(host, *args, **kwargs)


def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        if host not in _LOCAL and not str(host).startswith("127."):
            _refuse(f"connect {host}:{address[1]}")
    return _connect(self, address)


socket.getaddrinfo = getaddrinfo
socket.socket.connect = connect
