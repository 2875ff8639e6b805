"""Writes the inputs of the TFDV reference cases: Parquet files of census rows.

Run from the repository root with the project's environment (`make tfdv-reference` runs it
before reference/tfdv/expected.py, in TFDV's own environment, computes the distances).
Each case has a baseline (the training table, or its own), a previous and a current window;
missing values are NULL, a float NaN is a NaN.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from trainer import loader, schema

OUT = Path("tests/monitoring/tfdv_cases")
CATEGORICAL = [f.name for f in schema.FEATURES if f.is_categorical]
NUMERIC = [f.name for f in schema.FEATURES if not f.is_categorical]


def frame_of(rows: pd.DataFrame) -> pd.DataFrame:
    """Features only; categories as plain strings (None when missing), numbers as float64."""
    out = pd.DataFrame(index=range(len(rows)))
    for name in CATEGORICAL:
        column = rows[name].astype(object).reset_index(drop=True)
        out[name] = column.where(column.notna(), None)
    for name in NUMERIC:
        out[name] = rows[name].astype(np.float64).reset_index(drop=True)
    return out


def write(frame: pd.DataFrame, path: Path) -> None:
    """Parquet with explicit types: a missing value is NULL, a float NaN stays NaN (pandas
    alone would write both as NULL). NaN cells are marked in frame.attrs["nan"]."""
    nan = frame.attrs.get("nan", {})
    columns = {}
    for name in [c for c in frame.columns if c not in NUMERIC]:
        values = frame[name].tolist()
        columns[name] = pa.array([None if v is None else str(v) for v in values], pa.string())
    for name in NUMERIC:
        values = frame[name].to_numpy(dtype=np.float64)
        is_nan = nan.get(name, np.zeros(len(frame), dtype=bool))
        missing = np.isnan(values) & ~is_nan
        values = np.where(is_nan, np.nan, values)
        columns[name] = pa.array(values, pa.float64(), mask=missing)
    pq.write_table(pa.table(columns), path, compression="zstd")


def cases() -> dict[str, dict]:
    census_train = loader.load_census(split="train").frame
    train = frame_of(census_train)
    train[schema.LABEL] = census_train[schema.LABEL].astype(str).tolist()  # the baseline's
    test = frame_of(loader.load_census(split="test").frame)
    rng = np.random.default_rng(12)

    def sample(n: int) -> pd.DataFrame:
        return test.iloc[rng.choice(len(test), n, replace=False)].reset_index(drop=True)

    def pick(frame: pd.DataFrame, share: float) -> np.ndarray:
        return rng.random(len(frame)) < share

    found: dict[str, dict] = {}
    half = len(test) // 2
    found["official_test"] = {
        "about": "the official test split as is: its halves as the two windows",
        "previous": test.iloc[:half],
        "current": test.iloc[half:],
    }
    shifted = sample(5000)
    shifted["age"] = shifted["age"] + 10
    found["age_shift"] = {
        "about": "ages shifted by ten years",
        "previous": sample(5000),
        "current": shifted,
    }
    scaled = sample(5000)
    mean = scaled["hours_per_week"].mean()
    scaled["hours_per_week"] = (mean + 1.8 * (scaled["hours_per_week"] - mean)).round()
    scaled["capital_gain"] = scaled["capital_gain"] * 3
    found["scale"] = {
        "about": "hours spread 1.8 times wider, capital gains tripled",
        "previous": sample(5000),
        "current": scaled,
    }
    wide = sample(5000)
    older = pick(wide, 0.1)
    wide.loc[older, "age"] = rng.integers(95, 121, older.sum()).astype(float)
    wide.loc[pick(wide, 0.05), "hours_per_week"] = -5.0
    rich = pick(wide, 0.05)
    wide.loc[rich, "fnlwgt"] = wide.loc[rich, "fnlwgt"] * 4
    found["out_of_range"] = {
        "about": "10% ages 95-120, 5% negative hours, 5% fnlwgt x4",
        "previous": sample(5000),
        "current": wide,
    }
    found["small_window"] = {
        "about": "two windows of 200 rows",
        "previous": sample(200),
        "current": sample(200),
    }
    odd = sample(5000)
    odd.loc[pick(odd, 0.05), "workclass"] = "Gig-economy"
    odd.loc[pick(odd, 0.03), "native_country"] = "Atlantis"
    odd.loc[pick(odd, 0.10), "occupation"] = None
    odd.loc[pick(odd, 0.08), "age"] = None
    odd.loc[pick(odd, 0.04), "hours_per_week"] = None
    found["unseen_and_missing"] = {
        "about": "unseen workclass and country values; occupation, age and hours missing",
        "previous": sample(5000),
        "current": odd,
    }
    nan_now, nan_before = sample(5000), sample(5000)
    nan_now.attrs["nan"] = {
        "hours_per_week": pick(nan_now, 0.10),
        "education_num": pick(nan_now, 0.05),
        "capital_gain": pick(nan_now, 0.01),
    }
    nan_before.attrs["nan"] = {"education_num": pick(nan_before, 0.02)}
    found["nan"] = {
        "about": "float NaN (not missing) in hours, education-num, capital gain",
        "previous": nan_before,
        "current": nan_now,
    }
    constant = sample(3000)
    constant["education_num"] = 9.0
    constant["hours_per_week"] = 40.0
    found["constant"] = {
        "about": "education-num and hours constant in the window",
        "previous": sample(3000),
        "current": constant,
    }
    found["empty_window"] = {
        "about": "a window without rows",
        "previous": sample(1000),
        "current": test.iloc[:0],
    }
    women = sample(5000)
    women.loc[pick(women, 0.6), "sex"] = "Female"
    found["sex_ratio"] = {
        "about": "the share of women raised to about 80%",
        "previous": sample(5000),
        "current": women,
    }
    blank = sample(2000)
    blank["occupation"] = None
    blank["capital_loss"] = np.nan
    blank.attrs["nan"] = {"capital_loss": np.ones(len(blank), dtype=bool)}
    blank["age"] = np.nan
    found["all_missing"] = {
        "about": "occupation and age all missing, capital loss all NaN in the window",
        "previous": sample(2000),
        "current": blank,
    }
    infinite = sample(5000)
    infinite.loc[pick(infinite, 0.02), "capital_gain"] = np.inf
    infinite.loc[pick(infinite, 0.01), "capital_loss"] = -np.inf
    found["infinities"] = {
        "about": "+inf capital gains, -inf capital losses",
        "previous": sample(5000),
        "current": infinite,
    }
    tiny = train.iloc[:4].drop(columns=[schema.LABEL])
    tiny["sex"] = ["Male", "Female", "Male", "Female"]
    tiny["race"] = ["White", "Black", "White", "Black"]
    tied = tiny.copy()
    tied["sex"] = "Male"
    tied["race"] = ["Black", "White", "Black", "White"]
    labelled = tiny.copy()
    labelled[schema.LABEL] = train[schema.LABEL].iloc[:4].tolist()
    found["ties"] = {
        "about": "equal largest differences: the most-changed value's tie-break",
        "baseline": labelled,
        "previous": tiny,
        "current": tied,
    }
    big = test.iloc[rng.integers(0, len(test), 60_000)].reset_index(drop=True)
    big["fnlwgt"] = big["fnlwgt"] + rng.integers(-500, 500, len(big))
    found["many_distinct"] = {
        "about": "60,000 rows with ~50,000 distinct fnlwgt values (TFDV's sketch compresses)",
        "previous": sample(5000),
        "current": big,
    }
    for case in found.values():
        case.setdefault("baseline", None)
    return {"train": train, "cases": found}


def main() -> None:
    made = cases()
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    write(made["train"], OUT / "baseline.parquet")
    for name, case in made["cases"].items():
        folder = OUT / name
        folder.mkdir()
        (folder / "about.txt").write_text(case["about"] + "\n")
        for part in ("baseline", "previous", "current"):
            if case.get(part) is not None:
                write(case[part], folder / f"{part}.parquet")
    print(f"wrote {len(made['cases'])} cases to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
