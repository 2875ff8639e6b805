"""Cloud Storage semantics over the workspace's bucket folders: copies appear whole."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path


class LocalStorage:
    """Cloud Storage semantics over the workspace's bucket folders: copies appear whole."""

    def copy_tree(self, source: str, destination: str) -> str:
        return _publish(Path(destination), lambda tmp: _copy(Path(source), tmp))

    def stage(self, files: dict[str, str | Path], texts: dict[str, str], destination: str) -> str:
        """Files and texts into one folder, which appears only when complete."""

        def fill(tmp: Path) -> None:
            tmp.mkdir()
            for name, source in files.items():
                _copy(Path(source), tmp / name)
            for name, text in texts.items():
                (tmp / name).write_text(text)

        return _publish(Path(destination), fill)

    def read_text(self, uri: str) -> str:
        return Path(uri).read_text()

    def checksums(self, uri: str) -> dict[str, str]:
        root = Path(uri)
        if root.is_file():
            return {"": _sha256(root.read_bytes())}
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
        return {p.relative_to(root).as_posix(): _sha256(p.read_bytes()) for p in files}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _copy(source: Path, destination: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, destination)
    else:
        shutil.copy2(source, destination)


def _publish(destination: Path, fill) -> str:
    """Build `destination` in a hidden sibling, then swap it in: readers never see half."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = destination.with_name(f".{destination.name}.partial")
    _remove(tmp)
    fill(tmp)
    _remove(destination)
    tmp.rename(destination)
    return str(destination)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
