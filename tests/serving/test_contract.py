import re

import numpy as np
import pytest
from serving_fixtures import sample_instances

from serving.contract import BadRequest, ServerConfig, parse_body
from trainer import features, loader, predict
from trainer.predict import InvalidInstance, encode_instances


def test_config_from_the_vertex_environment():
    assert ServerConfig.from_env({}) == ServerConfig()
    c = ServerConfig.from_env(
        {
            "AIP_HTTP_PORT": "9000",
            "AIP_HEALTH_ROUTE": "/v1/h",
            "AIP_PREDICT_ROUTE": "/v1/p",
            "AIP_STORAGE_URI": "gs://b/m",
            "MLOPS_UNKNOWN_CATEGORY": "missing",
        }
    )
    assert (c.port, c.health_route, c.predict_route, c.storage_uri, c.unknown_category) == (
        9000,
        "/v1/h",
        "/v1/p",
        "gs://b/m",
        "missing",
    )
    with pytest.raises(ValueError, match="AIP_HTTP_PORT must be an integer"):
        ServerConfig.from_env({"AIP_HTTP_PORT": "eighty"})
    with pytest.raises(ValueError, match="MLOPS_UNKNOWN_CATEGORY"):
        ServerConfig.from_env({"MLOPS_UNKNOWN_CATEGORY": "guess"})


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"", 400, "empty body"),
        (b"{not json", 400, "malformed JSON"),
        (b"\xff\xfe", 400, "malformed JSON"),
        (b"[1, 2]", 400, 'expected an object with an "instances" list'),
        (b'{"instances": {"age": 3}}', 400, '"instances" must be a list'),
        (b'{"instances": []}', 400, '"instances" is empty'),
        (b'{"instances": [1, 2, 3]}', 413, "3 instances; at most 2 per request"),
        # nested past the limit: a 400 naming it, before the duplicate-key guard recurses
        (b'{"instances": [' + b"[" * 253 + b"]" * 253 + b"]}", 400, "nested deeper than 254"),
        (b"[" * 1025 + b"]" * 1025, 400, "JSON nested deeper than 254 levels"),
        (
            b'{"instances": [' + b"[" * 999 + b'{"a": 1, "a": 2}' + b"]" * 999 + b"]}",
            400,
            "nested deeper than 254",
        ),  # a repeat too: Python's json would recurse past 1,000
    ],
)
def test_bad_bodies(body, status, message):
    with pytest.raises(BadRequest, match=message) as info:
        parse_body(body, max_instances=2)
    assert info.value.status == status


def test_the_deepest_body_allowed_is_parsed():
    body = b'{"instances": [' + b"[" * 252 + b"]" * 252 + b"]}"  # 254 levels in all
    assert parse_body(body, max_instances=2) == [_nested(251)]


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("body", "repeated"),
    [
        (rb'{"instances": [1], "instances": [1]}', "instances"),
        (rb'{"instances": [{"a\"b": 1, "a\u0022b": 2}]}', 'a"b'),  # one key, two spellings
        (rb'{"instances": [{"x": "say \"hi\"", "x": "\u0022"}]}', "x"),
        (rb'{"instances": [{"k": {"deep": 1, "deep": 2}}]}', "deep"),
    ],
)
def test_a_repeated_key_is_found_however_its_quotes_are_spelled(body, repeated):
    with pytest.raises(BadRequest, match="duplicate key") as info:
        parse_body(body, max_instances=2)
    assert info.value.message == f"duplicate key {repeated!r} in a JSON object"


@pytest.mark.parametrize(
    "body",
    [
        rb'{"instances": [{"a\u0022": "\"", "b": "\u0022\\u0022"}]}',  # escapes, no repeat
        rb'{"instances": ["\\u0022 is text here, not a quote"]}',
    ],
)
def test_escaped_quotes_without_a_repeat_are_accepted(body):
    assert len(parse_body(body, max_instances=2)) == 1


def test_encoding_matches_the_training_features():
    frame = loader.load_census(split="test").frame.head(300)
    matrix = encode_instances(predict.frame_to_instances(frame))
    np.testing.assert_array_equal(matrix, features.encode(frame))


def good() -> dict:
    return dict(sample_instances()[0])


def test_numbers_as_their_decimal_text_are_numbers():
    """AutoML tabular's format (every value a string) is taken too: an endpoint serving an
    AutoML version beside ours takes one format (docs/automl.md)."""
    instance = good()
    as_text = {k: (str(v) if isinstance(v, int | float) else v) for k, v in instance.items()}
    assert (encode_instances([as_text]) == encode_instances([instance])).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda i: i.pop("age"), "instance 0: missing field age"),
        (lambda i: i.update(salary=3), "instance 0: unknown field(s) 'salary'"),
        (
            lambda i: i.update(age=-5),
            "instance 0: field age is -5, outside the plausible range 0 to 120",
        ),
        (
            lambda i: i.update(age=1e308),
            "instance 0: field age is 1e+308, outside the plausible range 0 to 120",
        ),
        (
            lambda i: i.update(hours_per_week=169),
            "instance 0: field hours_per_week is 169, outside the plausible range 0 to 168",
        ),
        (
            lambda i: i.update(sex="x" * 1_000_000),
            f"instance 0: field sex has unknown category {'x' * 80!r}... (1,000,000 characters)",
        ),
        (lambda i: i.update(age="old"), "instance 0: field age must be a number, got 'old'"),
        (lambda i: i.update(age=True), "instance 0: field age must be a number, got True"),
        (lambda i: i.update(age=float("inf")), "instance 0: field age is not finite"),
        (lambda i: i.update(sex=1), "instance 0: field sex must be a string, got 1"),
        (lambda i: i.update(sex=True), "instance 0: field sex must be a string, got True"),
        (lambda i: i.update(sex=["Male"]), "instance 0: field sex must be a string, got ['Male']"),
        (lambda i: i.update(age="5 y"), "instance 0: field age must be a number, got '5 y'"),
        (lambda i: i.update(age="nan"), "instance 0: field age must be a number, got 'nan'"),
        (
            lambda i: i.update(age="500"),
            "instance 0: field age is 500.0, outside the plausible range 0 to 120",
        ),
        (lambda i: i.update(sex="Robot"), "instance 0: field sex has unknown category 'Robot'"),
        (  # the census file's marker is not the contract's: one encoding of missing, null
            lambda i: i.update(workclass="?"),
            "instance 0: field workclass has unknown category '?' (a missing value is null)",
        ),
    ],
)
def test_bad_instances_name_instance_and_field(change, message):
    instance = good()
    change(instance)
    with pytest.raises(InvalidInstance) as info:
        encode_instances([instance])
    assert str(info.value) == message
    if "unknown category" not in message:  # scoring unknowns as missing forgives nothing else
        with pytest.raises(InvalidInstance, match=re.escape(message)):
            encode_instances([instance], unknown_category="missing")


def test_the_fast_path_and_the_row_walk_encode_alike():
    rng = np.random.default_rng(7)
    instances = predict.frame_to_instances(loader.load_census(split="test").frame.head(400))
    for instance in instances:
        for name in rng.choice(list(instance), size=3, replace=False):
            instance[name] = None if rng.random() < 0.5 else instance[name]
        if rng.random() < 0.1:
            instance["native_country"] = "Atlantis"
    fast = predict._encode_columns(instances, "missing")
    assert fast is not None
    np.testing.assert_array_equal(fast, predict._encode_rows(instances, "missing"))


def test_the_failing_instance_is_named_by_its_index():
    bad = good()
    bad["race"] = "Martian"
    with pytest.raises(InvalidInstance, match="instance 2: field race"):
        encode_instances([good(), good(), bad])


def test_missing_values_and_the_unknown_category_policy():
    instance = good()
    instance["workclass"] = None
    assert np.isnan(encode_instances([instance])[0, 1])
    instance["workclass"] = "Space-agency"
    assert np.isnan(encode_instances([instance], unknown_category="missing")[0, 1])
    assert predict.check_predictions([instance], [{"label": ">50K", "probability": 1.5}]) == [
        "prediction 0: probability 1.5 outside 0..1"
    ]
