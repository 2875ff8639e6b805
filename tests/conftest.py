"""Shared fixtures: crafted census files and a small, fast training set."""

from __future__ import annotations

from pathlib import Path

import pytest

# Registers lazy provider loading before any test module imports a provider package.
import infra  # noqa: F401


@pytest.fixture
def write_csv(tmp_path: Path):
    """Write lines to a CSV in tmp_path and return its path."""

    def write(lines: list[str], name: str = "census.csv") -> Path:
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n")
        return path

    return write


@pytest.fixture(scope="session")
def census_train():
    from trainer import loader

    return loader.load_census(split="train")


@pytest.fixture(scope="session")
def census_test():
    from trainer import loader

    return loader.load_census(split="test")
