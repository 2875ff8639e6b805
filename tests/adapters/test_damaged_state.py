"""A damaged state file is named with its recovery; a running server keeps serving the last
good split and says so in its health (docs/reliability.md)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

import httpx
import pytest
from local_prod import ROLLOUT, open_local_prod
from server_process import free_port, start, stop
from serving_fixtures import sample_instances, save_small_model

from adapters.local.storage import LocalStorage
from kernel import exit_codes
from kernel.workspace import ENDPOINT, LocalTenant, StateDamaged


@pytest.mark.slow
def test_each_write_keeps_the_last_good_copy_and_damage_names_the_restore(tmp_path):
    tenant = LocalTenant(tmp_path, "p")
    tenant.write_state(ENDPOINT, {"traffic": {"1": 100}})
    tenant.write_state(ENDPOINT, {"traffic": {"2": 100}})
    path = tenant.state_path(ENDPOINT)
    path.write_text('{"traffic": {"2": 1')  # truncated by a full disk
    with pytest.raises(StateDamaged) as info:
        tenant.read_state(ENDPOINT, None)
    message = str(info.value)
    assert message.startswith(f"{path}: damaged state file (not JSON at line 1, column 20)")
    command = message.split("restore it with: ")[1]
    subprocess.run(shlex.split(command), check=True)  # the command the message gives works
    assert tenant.read_state(ENDPOINT, None) == {"traffic": {"1": 100}}
    # a damaged file never becomes the last good copy
    path.write_text("{")
    tenant.write_state(ENDPOINT, {"traffic": {"3": 100}})
    assert json.loads((path.parent / "endpoint.json.last-good").read_text()) == {
        "traffic": {"1": 100}
    }


@pytest.mark.slow  # runs the cp the message gives
def test_a_state_file_lost_while_its_last_good_copy_is_kept_is_damage_not_a_fresh_start(
    tmp_path,
):
    """A file written once may never have existed; one with a last good copy did: reading
    it as absent would start prod's state afresh (nothing deployed, no versions)."""
    tenant = LocalTenant(tmp_path, "p")
    assert tenant.read_state(ENDPOINT, "fresh") == "fresh"  # never written
    tenant.write_state(ENDPOINT, {"traffic": {"1": 100}})
    tenant.write_state(ENDPOINT, {"traffic": {"2": 100}})
    path = tenant.state_path(ENDPOINT)
    path.unlink()
    with pytest.raises(StateDamaged) as info:
        tenant.read_state(ENDPOINT, "fresh")
    message = str(info.value)
    assert message.startswith(f"{path}: damaged state file (missing); the last good copy (")
    subprocess.run(shlex.split(message.split("restore it with: ")[1]), check=True)
    assert tenant.read_state(ENDPOINT, "fresh") == {"traffic": {"1": 100}}


def test_without_a_good_copy_the_message_says_how_to_start_afresh(tmp_path):
    tenant = LocalTenant(tmp_path, "p")
    tenant.state_path(ENDPOINT).parent.mkdir(parents=True)
    tenant.state_path(ENDPOINT).write_bytes(b"\xff\xfe")
    with pytest.raises(StateDamaged, match="no good copy is kept; move it aside"):
        tenant.read_state(ENDPOINT, None)


@pytest.mark.slow
def test_a_running_server_serves_the_last_good_split_while_the_state_is_damaged(tmp_path):
    workspace = tmp_path / "ws"
    prod = open_local_prod(workspace)
    model = LocalStorage().copy_tree(str(save_small_model(tmp_path / "m")), str(tmp_path / "v1"))
    prod.registry.register(model, {"candidate": "1"})
    prod.registry.register(model, {"candidate": "2"})
    prod.endpoint.deploy("1", {"1": 100}, ROLLOUT)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "mlops.cli", "serve", "--workspace", str(workspace)]
    proc = start([*command, "--port", str(port)], {}, f"{base}/health")
    state = workspace / "census-ml-prod" / "state" / "endpoint.json"
    good = state.read_text()
    try:
        state.write_text(good[: len(good) // 2])
        body = {"instances": [sample_instances()[0]]}
        for _ in range(3):
            assert httpx.post(f"{base}/predict", json=body).status_code == 200
        health = httpx.get(f"{base}/health")
        assert health.status_code == 503 and health.json()["status"] == "degraded"
        assert "serving the last good traffic split {'1': 100}" in health.json()["problems"][0]
        assert "damaged state file" in health.json()["problems"][0]
        state.write_text(good)
        assert httpx.get(f"{base}/health").status_code == 200
        prod.endpoint.deploy("2", {"1": 60, "2": 40}, ROLLOUT)  # health shows it at once
        assert httpx.get(f"{base}/health").json()["traffic"] == {"1": 60, "2": 40}
    finally:
        out = stop(proc)
    assert "Traceback" not in out

    state.write_text("{")  # and a server cannot start on a damaged state: one clear line
    done = subprocess.run([*command, "--port", str(port)], capture_output=True, text=True)
    assert done.returncode == exit_codes.DAMAGED and "damaged state file" in done.stderr
    assert "Traceback" not in done.stderr


def prod_with_v1(workspace, tmp_path):
    prod = open_local_prod(workspace)
    model = LocalStorage().copy_tree(str(save_small_model(tmp_path / "m")), str(tmp_path / "v1"))
    prod.registry.register(model, {"candidate": "1"})
    prod.endpoint.deploy("1", {"1": 100}, ROLLOUT)
    prod.registry.set_alias("champion", "1")
    return prod


MEANING = [  # state that parses but is wrong: (file, how it is edited, the invariant named)
    ("endpoint", lambda s: s.update(traffic={"9": 100}, deployed=["9"]),
     "deployed version(s) 9 not in the registry"),
    ("endpoint", lambda s: s.update(traffic={"1": 150}), "traffic to version 1 is 150"),
    ("endpoint", lambda s: s.update(traffic={"1": 50}), "traffic split must sum to 100"),
    ("endpoint", lambda s: s.update(traffic={"1": "100"}), "traffic to version 1 is '100'"),
    ("endpoint", lambda s: s.pop("deployed"), "malformed: KeyError('deployed')"),
    ("registry", lambda s: s["aliases"].update(champion="7"),
     "alias champion points at version 7, which is not registered"),
    ("registry", lambda s: s["versions"].append(dict(s["versions"][0])),
     "version 1 is registered twice"),
]  # fmt: skip


@pytest.mark.slow  # runs the restore command, and two cases run the commands
@pytest.mark.parametrize(("name", "edit", "invariant"), MEANING)
def test_state_that_parses_but_breaks_an_invariant_is_named_with_its_restore(
    tmp_path, name, edit, invariant
):
    workspace = tmp_path / "ws"
    prod = prod_with_v1(workspace, tmp_path)
    path = workspace / "census-ml-prod" / "state" / f"{name}.json"
    state = json.loads(path.read_text())
    edit(state)
    path.write_text(json.dumps(state))
    with pytest.raises(StateDamaged) as info:
        prod.endpoint.state() if name == "endpoint" else prod.registry.versions()
    message = str(info.value)
    assert message.startswith(f"{path}: damaged state file ({invariant}")
    assert "restore it with: cp " in message or "move it aside" in message
    if invariant not in (MEANING[0][2], MEANING[5][2]):
        return  # one endpoint and one registry case through the commands: the same reader
    # the commands that read it say the same in one line, exit 8 (damaged), no traceback
    for command in (["serve", "--port", str(free_port())], ["canary"], ["lineage", "1"]):
        done = subprocess.run(
            [sys.executable, "-m", "mlops.cli", *command, "--workspace", str(workspace)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == exit_codes.DAMAGED, (command, done.stdout, done.stderr)
        assert invariant in done.stderr and "Traceback" not in done.stderr, command
