import numpy as np
import pandas as pd
import pytest

from trainer import features, schema


def test_encode_uses_schema_codes_and_nan_for_missing(census_train):
    frame = census_train.frame.head(3).copy()
    frame.loc[2, "workclass"] = np.nan
    matrix = features.encode(frame)
    assert matrix.shape == (3, 14)
    workclass = schema.FEATURE_NAMES.index("workclass")
    assert matrix[0, workclass] == feature("workclass").code_of("State-gov") == 5
    assert np.isnan(matrix[2, workclass])
    assert matrix[0, 0] == 39.0


def test_encode_accepts_plain_strings_as_from_a_warehouse():
    row = {f.name: (f.categories[-1] if f.is_categorical else 1) for f in schema.FEATURES}
    matrix = features.encode(pd.DataFrame([row]))
    assert matrix[0, schema.FEATURE_NAMES.index("sex")] == 1


def test_encode_names_missing_columns():
    with pytest.raises(KeyError, match="age"):
        features.encode(pd.DataFrame({"workclass": ["Private"]}))


def test_labels(census_test):
    y = features.labels(census_test.frame)
    assert y.sum() == 3_846 and len(y) == 16_281


def feature(name: str) -> schema.Feature:
    return next(f for f in schema.FEATURES if f.name == name)


def test_the_typical_row_is_the_median_and_the_most_frequent_value():
    from trainer import loader

    frame = loader.load_census(split="train").frame
    typical = features.typical(frame)
    assert typical["age"] == int(frame["age"].median()) and isinstance(typical["age"], int)
    assert typical["sex"] == frame["sex"].value_counts().index[0] == "Male"
    assert typical["capital_gain"] == 0 and typical["hours_per_week"] == 40
    odd = frame.head(4).copy()
    odd["age"] = [20.5, 21.0, 22.0, 23.0]  # not whole: the median as it is
    odd["workclass"] = None  # nothing known: no default
    odd["hours_per_week"] = [np.nan, 30, 40, np.nan]  # missing values left out
    row = features.typical(pd.DataFrame(odd))
    assert (row["age"], row["workclass"], row["hours_per_week"]) == (21.5, None, 35)
