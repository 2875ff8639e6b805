"""The benches' figures as data, and the docs that quote them kept equal to it.

Each bench records what it printed in bench/results/<bench>.json (`record`). README.md and
docs/*.md quote a figure as `<!--fig:BENCH.KEY-->VALUE<!--/fig-->` (the comments do not
render); `python bench/figures.py check` fails on a quote that differs from the recorded value
or names none (tests/test_figures.py runs it), `python bench/figures.py write` (make figures)
rewrites every quote from the results after a bench run.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
QUOTE = re.compile(r"<!--fig:(?P<key>[a-z0-9_]+\.[a-z0-9_]+)-->(?P<text>.*?)<!--/fig-->")


def machine() -> str:
    """Cores and CPU model: figures are only comparable on the same kind of machine."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {model}"


def record(bench: str, figures: dict[str, float | int | str], root: Path = RESULTS) -> Path:
    """Write a bench's figures (already rounded as printed) with when and where."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{bench}.json"
    data = {"bench": bench, "measured": time.strftime("%Y-%m-%d"), "machine": machine()}
    path.write_text(json.dumps({**data, "figures": figures}, indent=2) + "\n")
    return path


def load(root: Path = RESULTS) -> dict[str, float | int | str]:
    """Every recorded figure as `bench.key`."""
    found: dict[str, float | int | str] = {}
    for path in sorted(root.glob("*.json")):
        data = json.loads(path.read_text())
        bench = data["bench"]
        found.update({f"{bench}.machine": data["machine"], f"{bench}.measured": data["measured"]})
        found.update({f"{bench}.{k}": v for k, v in data["figures"].items()})
    return found


def text_of(value: float | int | str) -> str:
    """How a figure is written in prose: thousands separated, as rounded by its bench."""
    return value if isinstance(value, str) else f"{value:,}"


def documents(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def problems(
    figures: dict[str, float | int | str], files: list[Path], root: Path = ROOT
) -> list[str]:
    """Each quote that differs from its recorded figure, or names an unrecorded one."""
    found = []
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for quote in QUOTE.finditer(line):
                key, text = quote["key"], quote["text"]
                where = f"{path.relative_to(root)}:{number}"
                if key not in figures:
                    found.append(f"{where}: {key} is not in bench/results (run its bench)")
                elif text != text_of(figures[key]):
                    found.append(
                        f"{where}: {key} is quoted as {text!r}, the bench recorded "
                        f"{text_of(figures[key])!r} (make figures)"
                    )
    return found


# Commands the docs show with a rough duration in a comment ("# ~40 s"), and the bench
# figure (seconds) that measures them: a rough figure is checked to be within 2x of it.
ROUGH = {
    "mlops run --target vertex --simulated": "simulated_run.wall_s",
    "mlops simulate life": "life.wall_s",
    "mlops simulate infra": "plan_apply.wall_s",
    "mlops simulate ci push --branch staging --files kernel/names.py": (
        "ci.push_staging_kernel_wall_s"
    ),
    "mlops simulate ci pull-request --branch main --files infra/stack.py": (
        "ci.pr_collaborator_wall_s"
    ),
}
APPROX = re.compile(r"~(?P<n>\d+(?:\.\d+)?) ?(?P<unit>s|min)\b")


def rough_problems(
    figures: dict[str, float | int | str], files: list[Path], root: Path = ROOT
) -> list[str]:
    """Each "~N s" / "~N min" beside a command in ROUGH more than 2x from its bench figure."""
    found = []
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            command = next((c for c in ROUGH if f"{c} " in f"{line} "), None)
            rough = APPROX.search(line.partition("#")[2]) if command else None
            if command is None or rough is None:
                continue
            quoted = float(rough["n"]) * (60 if rough["unit"] == "min" else 1)
            measured = figures.get(ROUGH[command])
            where = f"{path.relative_to(root)}:{number}"
            if not isinstance(measured, int | float):
                found.append(f"{where}: {ROUGH[command]} is not in bench/results")
            elif not measured / 2 <= quoted <= measured * 2:
                found.append(
                    f"{where}: `{command}` is said to take {rough[0]}; its bench measured "
                    f"{measured} s ({ROUGH[command]})"
                )
    return found


def rewrite(figures: dict[str, float | int | str], files: list[Path]) -> int:
    """Every quote of a recorded figure set to it; the number of quotes changed."""
    changed = 0

    def replace(quote: re.Match) -> str:
        nonlocal changed
        key = quote["key"]
        if key not in figures or quote["text"] == text_of(figures[key]):
            return quote[0]
        changed += 1
        return f"<!--fig:{key}-->{text_of(figures[key])}<!--/fig-->"

    for path in files:
        text = path.read_text()
        new = QUOTE.sub(replace, text)
        if new != text:
            path.write_text(new)
    return changed


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    figures, files = load(), documents()
    if command == "write":
        print(f"{rewrite(figures, files)} quoted figures updated from bench/results")
    found = problems(figures, files) + rough_problems(figures, files)
    for problem in found:
        print(problem, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
