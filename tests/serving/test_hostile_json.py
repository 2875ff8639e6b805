"""No request body can make the real server answer 5xx (issue 31): arbitrary JSON of any
depth, size, type, escape and encoding, in every place a body has, sent to a running
`mlops serve`; every answer is 2xx or 4xx, health is unchanged after, and no 5xx reached
the request log (docs/reliability.md, "Hostile bodies")."""

import json
import re
import shutil
import subprocess

import httpx
import pytest
import server_process
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serving_fixtures import sample_instances, serving_workspace

from serving.contract import MAX_DEPTH
from settings import REPO_ROOT

pytestmark = pytest.mark.slow  # a real server process


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workspace = serving_workspace(tmp_path_factory.mktemp("hostile"))
    proc, url = server_process.mlops_serve(workspace)
    with httpx.Client(base_url=url, timeout=30) as client:
        yield client, workspace
    server_process.stop(proc)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),  # past 64 bits too
    st.floats(allow_nan=False),
    st.text(max_size=20),  # any code point, escaped or not below
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=30,
)


def nested(depth: int, kinds: str) -> str:
    """JSON text of a value `depth` containers deep, lists and objects cycling as `kinds`
    says; written by hand, since json.dumps recurses as deep as the value."""
    opening = "".join("[" if kinds[i % len(kinds)] == "l" else '{"k": ' for i in range(depth))
    closing = "".join("]" if kinds[i % len(kinds)] == "l" else "}" for i in reversed(range(depth)))
    return f"{opening}1{closing}"


deep = st.builds(
    nested, st.integers(min_value=1, max_value=3000), st.sampled_from(["l", "d", "ld", "dll"])
)


@st.composite
def bodies(draw) -> bytes:
    """A value (arbitrary, or deep) put where a body can hold it, then encoded."""
    ascii_only = draw(st.booleans())  # \\uXXXX escapes (lone surrogates too) or raw text
    value = draw(st.one_of(values.map(lambda v: json.dumps(v, ensure_ascii=ascii_only)), deep))
    instance = dict(sample_instances()[0])
    name = draw(st.sampled_from(list(instance)))
    others = json.dumps({k: v for k, v in instance.items() if k != name})[1:-1]
    extra = json.dumps(draw(st.text(max_size=8)), ensure_ascii=ascii_only)
    text = {
        "body": value,
        "instances": f'{{"instances": {value}}}',
        "instance": f'{{"instances": [{value}]}}',
        "field": f'{{"instances": [{{{others}, "{name}": {value}}}]}}',
        "extra": f'{{"instances": [{json.dumps(instance)}], {extra}: {value}}}',
    }[draw(st.sampled_from(["body", "instances", "instance", "field", "extra"]))]
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "utf-8-sig", "latin-1"]))
    return text.encode(encoding, errors="replace")


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(bodies(), st.sampled_from(["application/json", "text/plain", None]))
def test_any_body_is_answered_2xx_or_4xx(server, body, content_type):
    client, _ = server
    headers = {"Content-Type": content_type} if content_type else {}
    reply = client.post("/predict", content=body, headers=headers)
    assert reply.status_code < 500, reply.text[:300]
    assert reply.status_code in (200, 400, 413, 415), reply.text[:300]


@pytest.mark.parametrize("depth", [MAX_DEPTH - 3, MAX_DEPTH - 2, 253, 254, 1024, 1025, 100_000])
@pytest.mark.parametrize("place", ["instance", "field", "extra"])
def test_nesting_past_the_limit_is_a_400_naming_it(server, depth, place):
    client, _ = server
    instance = dict(sample_instances()[0])
    deep = "[" * depth + "1" + "]" * depth  # written by hand: json.dumps recurses too
    others = json.dumps({k: v for k, v in instance.items() if k != "age"})[1:-1]
    body = {
        "instance": f'{{"instances": [{deep}]}}',
        "field": f'{{"instances": [{{{others}, "age": {deep}}}]}}',
        "extra": f'{{"instances": [{json.dumps(instance)}], "parameters": {deep}}}',
    }[place].encode()
    reply = client.post("/predict", content=body)
    total = depth + {"instance": 2, "field": 3, "extra": 1}[place]  # the body's own levels
    if total > MAX_DEPTH:
        assert reply.status_code == 400, reply.text
        assert reply.json()["error"] == f"JSON nested deeper than {MAX_DEPTH} levels"
    else:  # within the limit: judged as any other body (an extra field is ignored)
        assert reply.status_code == (200 if place == "extra" else 400), reply.text
        assert "nested deeper" not in reply.text


def test_the_readme_curl_is_answered(server):
    """The README's example request, run as written (its port aside), gets predictions."""
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    client, _ = server
    readme = (REPO_ROOT / "README.md").read_text()
    command = re.search(r"^curl .*?\}\]\}'$", readme, re.M | re.S).group(0)
    command = command.replace("localhost:8080", str(client.base_url).removeprefix("http://"))
    answer = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60)
    assert json.loads(answer.stdout)["predictions"][0]["label"] in (">50K", "<=50K"), answer


def test_after_it_all_health_is_unchanged_and_no_5xx_was_logged(server):
    client, workspace = server
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    from adapters.local import request_log
    from kernel.workspace import LocalTenant

    log = LocalTenant(workspace, "census-ml-prod").request_log_path
    with request_log.reader(log) as con:
        (errors,) = con.execute(
            f"SELECT count(*) FROM {request_log.TABLE} WHERE status >= 500"
        ).fetchone()
    assert errors == 0
