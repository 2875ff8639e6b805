from trainer import schema


def test_feature_names_are_the_uci_names_in_snake_case():
    assert schema.FEATURE_NAMES == (
        "age", "workclass", "fnlwgt", "education", "education_num", "marital_status",
        "occupation", "relationship", "race", "sex", "capital_gain", "capital_loss",
        "hours_per_week", "native_country",
    )  # fmt: skip
    assert schema.LABEL == "income_bracket"
    assert schema.CLASSES == ("<=50K", ">50K")


def test_categories_are_unique_and_codes_follow_declared_order():
    for feature in schema.FEATURES:
        assert len(set(feature.categories)) == len(feature.categories), feature.name
    sex = schema.BY_NAME["sex"]
    assert [sex.code_of("Female"), sex.code_of("Male"), sex.code_of("male")] == [0, 1, None]
    assert len(schema.BY_NAME["native_country"].categories) == 41
    assert len(schema.CATEGORICAL) == 8 and len(schema.NUMERIC) == 6


def test_as_dict_describes_every_feature():
    described = schema.as_dict()
    assert [f["name"] for f in described["features"]] == list(schema.FEATURE_NAMES)
    assert described["features"][9] == {
        "name": "sex",
        "kind": "categorical",
        "categories": ["Female", "Male"],
    }
