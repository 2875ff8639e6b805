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
    for f in schema.FEATURES:
        assert len(set(f.categories)) == len(f.categories), f.name
    sex = feature("sex")
    assert [sex.code_of("Female"), sex.code_of("Male"), sex.code_of("male")] == [0, 1, None]
    assert len(feature("native_country").categories) == 41
    assert sum(f.is_categorical for f in schema.FEATURES) == 8 and len(schema.FEATURES) == 14


def test_as_dict_describes_every_feature():
    described = schema.as_dict()
    assert [f["name"] for f in described["features"]] == list(schema.FEATURE_NAMES)
    assert described["features"][9] == {
        "name": "sex",
        "kind": "categorical",
        "categories": ["Female", "Male"],
    }


def feature(name: str) -> schema.Feature:
    return next(f for f in schema.FEATURES if f.name == name)
