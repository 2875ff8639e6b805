"""An approval pinned to the bytes approved: each candidate file's SHA-256 and one digest
over them all. Pure: the approve step records them, the deploy compares its prod copy."""

from __future__ import annotations

import hashlib


def digest(files: dict[str, str]) -> str:
    """One SHA-256 over every (name, file SHA-256), in name order."""
    lines = "".join(f"{name}\t{sha}\n" for name, sha in sorted(files.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def differences(approved: dict[str, str], found: dict[str, str]) -> list[str]:
    """How `found` (name → SHA-256) departs from `approved`, file by file."""
    out = []
    for name in sorted(approved.keys() | found.keys()):
        if name not in found:
            out.append(f"{name}: approved, missing now")
        elif name not in approved:
            out.append(f"{name}: not approved, present now")
        elif approved[name] != found[name]:
            out.append(f"{name}: changed since approval (sha256 {approved[name][:12]}... "
                       f"now {found[name][:12]}...)")  # fmt: skip
    return out
