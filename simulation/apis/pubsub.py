"""Pub/Sub: publishing to the stacks' topics, and delivery to the functions they trigger.

A publisher needs `pubsub.topics.publish` on the topic; a CMEK topic stores the message only
if the project's Pub/Sub agent may encrypt with its key (otherwise Google answers 403
naming the key). Each message reaches the functions whose event trigger is the topic:
Eventarc pushes it as the trigger's service account, which needs `run.routes.invoke` on the
function's service; the function then runs as its runtime identity (simulation/functions.py).
It also reaches the Cloud Build triggers whose `pubsub_config` names the topic (a build each,
apis/cloudbuild.py). Not modelled: other subscriptions, ordering, retries, dead letters.
"""

from __future__ import annotations

import base64
import threading
from typing import Any

from starlette.responses import JSONResponse

from simulation.apis.routing import register, route
from simulation.wire import ApiError, Check, WireEntry

PUBLISH = "pubsub.topics.publish"
ENCRYPT = "cloudkms.cryptoKeyVersions.useToEncrypt"
INVOKE = "run.routes.invoke"


class PubSub:
    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.delivered: list[threading.Thread] = []  # deliveries in flight (`wait` joins)

    @route(
        "POST",
        r"/v1/projects/(?P<project>[^/]+)/topics/(?P<topic>[^/:]+):publish",
        "pubsub.projects.topics.publish",
    )
    def publish_route(self, call: Any, project: str, topic: str) -> JSONResponse:
        name = f"projects/{project}/topics/{topic}"
        ids = [
            self.publish(
                call.entry,
                call.principal,
                name,
                base64.b64decode(m.get("data", "")),
                {str(k): str(v) for k, v in (m.get("attributes") or {}).items()},
            )
            for m in call.json().get("messages", [])
        ]
        return JSONResponse({"messageIds": ids})

    def publish(
        self,
        entry: WireEntry,
        principal: str | None,
        topic: str,
        data: bytes,
        attributes: dict[str, str] | None = None,
    ) -> str:
        """Store and deliver one message, as Pub/Sub does for `principal`; its message id."""
        self.sim.check(entry, principal, PUBLISH, topic)
        if topic not in self.sim.world.topics:
            raise ApiError(404, f"Resource not found (resource={topic.rsplit('/', 1)[-1]}).")
        key = self.sim.world.topics[topic]
        if key:
            project = topic.split("/")[1]
            agent = self.sim.world.agent("pubsub.googleapis.com", project)
            allowed = self.sim.allowed(agent, ENCRYPT, key)
            entry.checks.append(Check(f"{ENCRYPT} (as {agent})", key, allowed, "key policy"))
            if not allowed:
                raise ApiError(403, f"Cloud Pub/Sub did not have the necessary access to {key}.")
        message_id = str(len(self.sim.wire))
        for trigger in self.sim.world.triggers.values():
            if trigger.topic == topic:  # Cloud Build's own subscription: a build per message
                self.sim.cloudbuild.on_message(trigger, data, attributes or {}, message_id)
        for function in self.sim.world.functions.values():
            if function.topic == topic:
                thread = threading.Thread(
                    target=self.push, args=(function, data, message_id, topic), daemon=True
                )
                self.delivered.append(thread)
                thread.start()
        return message_id

    def push(self, function: Any, data: bytes, message_id: str, topic: str) -> None:
        """Eventarc's push: as the trigger's identity, to the function's service."""
        from simulation.functions import invoke

        who = function.trigger_service_account
        entry = self.sim.log_call(who, "POST", "run.routes.invoke")
        service = (
            f"projects/{function.project}/locations/{function.region}/services/{function.name}"
        )
        try:
            self.sim.check(entry, who, INVOKE, service)
        except ApiError as exc:
            entry.status = exc.status
            return
        entry.status = 200
        invoke(self.sim, function, data, message_id, topic)

    def wait(self, timeout: float = 600) -> None:
        for thread in self.delivered:
            thread.join(timeout)


def install(sim: Any) -> None:
    sim.pubsub = PubSub(sim)
    register(sim, "pubsub", sim.pubsub)
