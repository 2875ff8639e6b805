"""Prints the largest difference between the monitor and TFDV per reference case.

Run from the repository root with the project's environment: `make tfdv-compare`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))

from tfdv_reference import differences, expected


def main() -> None:
    reference = expected()
    print(f"monitor against TFDV {reference['tfdv_version']}, largest |difference| per case")
    print(f"{'case':<20}{'distances':>10}{'largest':>12}  where")
    overall = 0.0
    for case, want in sorted(reference["cases"].items()):
        rows = differences(case, want)
        compared = [(m, f, d, t) for m, f, d, t in rows if t is not None and d is not None]
        unmatched = [(m, f) for m, f, d, t in rows if (t is None) != (d is None)]
        worst = max(compared, key=lambda r: abs(r[2] - r[3]["distance"]), default=None)
        largest = abs(worst[2] - worst[3]["distance"]) if worst else 0.0
        overall = max(overall, largest)
        where = f"{worst[0]} {worst[1]}" if worst and largest else "-"
        note = f"  UNMATCHED {unmatched}" if unmatched else ""
        print(f"{case:<20}{len(compared):>10}{largest:>12.2e}  {where}{note}")
    print(f"largest over all cases: {overall:.2e}")


if __name__ == "__main__":
    main()
