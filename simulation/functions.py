"""A Cloud Run function invoked by its Pub/Sub event trigger, as its runtime identity.

The source is what the stack uploads (infra.function_source.assemble: this project's wheel
unpacked, the env settings, main.py), run from its own folder by this interpreter (its
packages shadow the checkout's, as in the deployed container) with the function's
environment variables, called with the CloudEvent Pub/Sub delivers. Its structured log
lines go to the simulation's function log. tests/simulation/test_retraining.py runs the
same source in a fresh virtual environment from exactly its requirements.txt.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

CALL = """
import json, sys
from cloudevents.http import CloudEvent
import main
attributes = {
    "type": "google.cloud.pubsub.topic.v1.messagePublished",
    "source": "//pubsub.googleapis.com/" + sys.argv[2],
}
main.on_message(CloudEvent(attributes, json.loads(sys.argv[1])))
"""

_assembled: dict[str, Path] = {}
_lock = threading.Lock()


def source(sim: Any) -> Path:
    """The function's source folder, assembled once per simulation."""
    from infra import function_source

    with _lock:
        key = str(sim.root)
        if key not in _assembled:
            _assembled[key] = function_source.assemble(sim.root / "functions" / "source")
        return _assembled[key]


def invoke(sim: Any, function: Any, data: bytes, message_id: str, topic: str) -> int:
    """Run the function on one message; its exit status (0: it handled the message)."""
    event = {
        "message": {"data": base64.b64encode(data).decode(), "messageId": message_id},
        "subscription": f"projects/{function.project}/subscriptions/eventarc-{function.name}",
    }
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")},
        **sim.environ(function.service_account),
        **function.environment,
    }
    log = sim.root / "functions" / f"{function.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", CALL, json.dumps(event), topic],
        cwd=source(sim),
        env=env,
        capture_output=True,
        text=True,
        timeout=function.timeout_seconds,
        check=False,
    )
    with log.open("a") as out:
        out.write(done.stdout + done.stderr)
    sim.function_calls.append((function.name, done.returncode, done.stdout + done.stderr))
    return done.returncode
