"""Cloud Logging: entries the simulated services write, routed by the stacks' sinks.

An entry written in a project goes to each of that project's sinks whose filter it matches;
a sink to a Pub/Sub topic publishes the entry (JSON, as Cloud Logging exports it) as its
writer identity, the project's Logging agent, which must be allowed to publish there.
Filters: `field="value"` comparisons on dotted fields (resource.type, logName,
resource.labels.KEY, jsonPayload.KEY) joined by AND; anything else is refused when the sink
is first used, so a filter the simulation cannot read never silently matches nothing.
Not modelled: other destinations, exclusions, the _Default and _Required buckets.
"""

from __future__ import annotations

import json
import re
from typing import Any

from simulation.wire import ApiError

_TERM = re.compile(r'^\s*([A-Za-z_][\w.]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*$')


def matches(filter_text: str, entry: dict) -> bool:
    """Whether `entry` satisfies the sink filter (the subset above); ValueError otherwise."""
    for term in re.split(r"\s+AND\s+", filter_text.strip()) if filter_text.strip() else []:
        found = _TERM.match(term)
        if found is None:
            raise ValueError(f"the simulation cannot evaluate the log filter term {term!r}")
        value: Any = entry
        for part in found.group(1).split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value != found.group(2):
            return False
    return True


class Logging:
    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.entries: list[dict] = []

    def write(self, project: str, entry: dict) -> list[str]:
        """Store `entry` and route it; the sinks it went through, by name."""
        self.entries.append(entry)
        routed = []
        for sink in self.sim.world.sinks:
            if sink.project != project or not matches(sink.filter, entry):
                continue
            service, _, topic = sink.destination.partition("/")
            if service != "pubsub.googleapis.com":
                continue
            call = self.sim.log_call(sink.writer, "POST", "pubsub.projects.topics.publish")
            try:
                self.sim.pubsub.publish(call, sink.writer, topic, json.dumps(entry).encode())
            except ApiError as exc:  # Cloud Logging records the sink's error; nothing else
                call.status = exc.status
                continue
            call.status = 200
            routed.append(sink.name)
        return routed


def install(sim: Any) -> None:
    sim.logging = Logging(sim)
