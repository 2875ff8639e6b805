"""The simulated Cloud Storage at /gcs, in a task's own mount namespace (as Cloud Storage FUSE
mounts it on Vertex), made inside an already running process: what `unshare --mount` (or
`unshare -rm` without root) followed by `mount --bind STORAGE /gcs` does for a new one.

Python 3.11 has no os.unshare or os.mount; these are the Linux calls through libc. They are
made in a single-threaded process (a task forked from the warm executor's server): a user
namespace cannot be entered by a process with threads.
"""

from __future__ import annotations

import ctypes
import os

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MOUNT_POINT = "/gcs"


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def enter_private_mounts() -> None:
    """This process's own mount namespace, propagating nothing back to the machine's."""
    libc = _libc()
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWNS if uid == 0 else CLONE_NEWNS | CLONE_NEWUSER
    _check(libc.unshare(flags), "unshare")
    if uid != 0:  # root inside a user namespace, mapped to this user (as unshare -r does)
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/uid_map", "w") as f:
            f.write(f"0 {uid} 1")
        with open("/proc/self/gid_map", "w") as f:
            f.write(f"0 {gid} 1")
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / private")


def mount_storage(storage: str) -> None:
    """`storage` at /gcs for this process only (called in the task's process)."""
    enter_private_mounts()
    os.makedirs(MOUNT_POINT, exist_ok=True)
    _check(_libc().mount(storage.encode(), MOUNT_POINT.encode(), None, MS_BIND, None), "mount")
