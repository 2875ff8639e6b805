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
