"""A build config's steps as the simulated Cloud Build runs them: substituted the way Cloud
Build substitutes, each step's command (an image's own entrypoint when the step names none),
and which steps are stood in for rather than run, with why. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from simulation.wire import ApiError

# The entrypoint of each builder image the configs use without naming one.
ENTRYPOINTS = {
    "gcr.io/cloud-builders/docker": "docker",
    "hashicorp/terraform": "terraform",
    "gcr.io/google.com/cloudsdktool/cloud-sdk": "gcloud",
}
_SUBSTITUTION = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
INSTALLED = "stood in for: this checkout's installed environment (make install) is the build's"
SUITE = "stood in for: the test suite itself (CI runs it: .ci/run); --full runs it here"


@dataclass(frozen=True)
class Step:
    id: str
    command: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    dir: str = ""  # relative to the workspace
    stood_in: str = ""  # why it is not run ("" when it is)


def substitute(text: str, values: dict[str, str]) -> str:
    """Cloud Build's substitution of one argument; an unknown name is refused as it is."""

    def one(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name is None:
            return "$"
        if name not in values:
            raise ApiError(400, f"invalid value for 'build.substitutions': key {name!r} unknown")
        return values[name]

    return _SUBSTITUTION.sub(one, text)


def entrypoint(step: dict) -> list[str]:
    if step.get("entrypoint"):
        return [step["entrypoint"]]
    image = step["name"].split("@")[0].rsplit(":", 1)[0] if ":" in step["name"] else step["name"]
    if image not in ENTRYPOINTS:
        raise ApiError(400, f"step {step.get('id', step['name'])!r}: no entrypoint, and the "
                       f"simulation does not know image {step['name']!r}'s")  # fmt: skip
    return [ENTRYPOINTS[image]]


def steps(config: dict, values: dict[str, str], full: bool = False) -> list[Step]:
    """The config's steps in order; refused (400, as Cloud Build refuses the build) if a
    substitution is unknown or a step waits for one that does not come before it."""
    out: list[Step] = []
    for number, step in enumerate(config["steps"]):
        name = step.get("id", str(number))
        for waited in step.get("waitFor", []):
            if waited != "-" and waited not in {s.id for s in out}:
                raise ApiError(400, f"step {name!r} waits for {waited!r}, not an earlier step")
        args = [substitute(str(a), values) for a in step.get("args", [])]
        command = tuple(entrypoint(step) + args)
        env = dict(substitute(str(e), values).split("=", 1) for e in step.get("env", []))
        why = ""
        if name == "install":
            why = INSTALLED
        elif "make test" in " ".join(command) and not full:
            why = SUITE
        out.append(Step(name, command, env, substitute(step.get("dir", ""), values), why))
    return out
