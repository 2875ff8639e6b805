"""The FastAPI app in-process: routes from the contract, 4xx for bad input, never 5xx."""

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serving_fixtures import sample_instances, small_model

from serving.app import create_app
from serving.contract import ServerConfig
from serving.models import SingleModel
from trainer import schema


@pytest.fixture(scope="module")
def client():
    config = ServerConfig(max_instances=1000, health_route="/h", predict_route="/p")
    return TestClient(create_app(SingleModel(small_model(), "7"), config))


def test_health_and_predict_follow_the_contract(client):
    health = client.get("/h").json()
    assert health == {"status": "ok", "traffic": {"7": 100}, "problems": [], "engines": {}}
    reply = client.post("/p", json={"instances": list(sample_instances()[:3])})
    assert reply.status_code == 200
    body = reply.json()
    assert body["model_version"] == "7" and len(body["predictions"]) == 3
    assert {p["label"] for p in body["predictions"]} <= set(schema.CLASSES)
    assert all(0 <= p["probability"] <= 1 for p in body["predictions"])
    assert client.post("/predict", json={"instances": []}).status_code == 404  # routes moved


def test_bad_input_gets_4xx_naming_instance_and_field_and_serving_goes_on(client):
    bad = dict(sample_instances()[0], hours_per_week="forty")
    reply = client.post("/p", json={"instances": [sample_instances()[0], bad]})
    assert reply.status_code == 400
    assert reply.json() == {
        "error": "instance 1: field hours_per_week must be a number, got 'forty'"
    }
    assert client.post("/p", content=b"{oops").status_code == 400
    assert client.post("/p", json={"instances": [{}] * 1001}).status_code == 413
    assert client.post("/p", json={"instances": list(sample_instances()[:1])}).status_code == 200


def test_no_model_deployed_is_503_not_a_crash():
    class Empty:
        def choose(self):
            return None

        def engines(self):

            return {}

        def versions(self):
            return {}

        def refresh(self, force=False):
            pass

        def problems(self):
            return []

    c = TestClient(create_app(Empty(), ServerConfig()))
    assert c.get("/health").status_code == 503
    assert c.post("/predict", json={"instances": list(sample_instances()[:1])}).status_code == 503


# Schema-driven fuzz: valid instances, then every way of breaking one.
def feature_value(feature):
    if feature.is_categorical:
        return st.one_of(st.sampled_from(feature.categories), st.none())
    low, high = feature.plausible
    return st.one_of(
        st.integers(int(low), int(high)),
        st.floats(low, high),
        st.integers(-(10**9), 10**9),  # often outside the plausible range: a 400 naming it
        st.none(),
    )


valid_instance = st.fixed_dictionaries({f.name: feature_value(f) for f in schema.FEATURES})
junk = st.one_of(
    st.text(max_size=5),
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@st.composite
def maybe_broken(draw):
    instance = draw(valid_instance)
    how = draw(st.sampled_from(["keep", "drop", "add", "retype"]))
    name = draw(st.sampled_from(schema.FEATURE_NAMES))
    if how == "drop":
        instance.pop(name)
    elif how == "add":
        instance[draw(st.text(min_size=1, max_size=8))] = draw(junk)
    elif how == "retype":
        instance[name] = draw(junk)
    return instance


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(maybe_broken(), min_size=1, max_size=5))
def test_fuzzed_requests_never_get_a_5xx(client, instances):
    reply = client.post("/p", content=json.dumps({"instances": instances}, allow_nan=True))
    assert reply.status_code in (200, 400), reply.text
    if reply.status_code == 400:  # NaN/Infinity literals are not JSON: refused as such
        assert reply.json()["error"].startswith(("instance ", "malformed JSON", "duplicate key"))


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.binary(max_size=64), junk.map(lambda v: json.dumps(v).encode())))
def test_fuzzed_bodies_never_get_a_5xx(client, body):
    assert client.post("/p", content=body).status_code in (400, 413)
