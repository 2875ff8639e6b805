"""The toolchain the project claims is the one its lock can install: every Python version
`requires-python` admits gets a wheel of every compiled package (no source build of LLVM or
numpy on a fresh machine), and Node's version is checked where Node is used."""

import json
import re
import tomllib

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet

from settings import REPO_ROOT

LOCK = tomllib.loads((REPO_ROOT / "uv.lock").read_text())
PROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]


def admitted_minors() -> list[int]:
    spec = SpecifierSet(PROJECT["requires-python"])
    return [minor for minor in range(8, 20) if f"3.{minor}.0" in spec]


def selected(package: dict, minor: int) -> bool:
    markers = package.get("resolution-markers")
    env = {"python_full_version": f"3.{minor}.0", "python_version": f"3.{minor}"}
    return not markers or any(Marker(m).evaluate(env) for m in markers)


def wheel_for(wheels: list[str], minor: int) -> bool:
    """A manylinux x86_64 (or pure) wheel that installs on CPython 3.minor."""
    for name in wheels:
        python, abi, platform = name[: -len(".whl")].split("-")[-3:]
        if not (platform == "any" or ("manylinux" in platform and "x86_64" in platform)):
            continue
        versions = [int(v[3:]) for v in python.split(".") if re.fullmatch(r"cp3\d+", v)]
        if abi == "none" and any(v.startswith("py3") for v in python.split(".")):
            return True
        if f"cp3{minor}" in python.split(".") and abi in (f"cp3{minor}", "abi3", "none"):
            return True
        if abi == "abi3" and versions and min(versions) <= minor:
            return True
    return False


def test_every_admitted_python_gets_a_wheel_of_every_locked_package():
    minors = admitted_minors()
    assert minors == [11, 12, 13]
    missing = []
    for package in LOCK["package"]:
        wheels = [w["url"].rsplit("/", 1)[1] for w in package.get("wheels", [])]
        linux = [w for w in wheels if "linux" in w or w.endswith("-any.whl")]
        if not linux:  # a source package (the project) or another platform's only (pywin32)
            continue
        for minor in minors:
            if selected(package, minor) and not wheel_for(linux, minor):
                missing.append(f"{package['name']} {package['version']} on 3.{minor}")
    assert missing == []


def test_node_is_checked_where_it_is_installed():
    engines = json.loads((REPO_ROOT / "package.json").read_text())["engines"]["node"]
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert engines == ">=20" and "NODE_MAJOR := 20" in makefile
    assert "Node $(NODE_MAJOR) or later is needed" in makefile
