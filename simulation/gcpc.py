"""Google Cloud Pipeline Components' own container code, run against the simulated cloud.

The AutoML ops (TabularDatasetCreateOp, AutoMLTabularTrainingJobRunOp) run GCPC's
`aiplatform.remote_runner`, which drives the Vertex AI SDK; ModelBatchPredictOp runs its
`batch_prediction_job.launcher`. Both run here unchanged, as the pipeline's identity, with
one difference from Vertex: the SDK and the launcher's JobServiceClient are pointed at the
simulated Vertex AI endpoint over REST (the launcher hard-codes
{region}-aiplatform.googleapis.com over gRPC). `resolve` fills in the container arguments
the way Vertex does (placeholders, IfPresent, Concat); `python -m simulation.gcpc MODULE
ARGS...` is the shim.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import sys
from typing import Any

LAUNCHERS = (
    "google_cloud_pipeline_components.container.v1.aiplatform.remote_runner",
    "google_cloud_pipeline_components.container.v1.batch_prediction_job.launcher",
)
_PLACEHOLDER = re.compile(
    r"\{\{\$\.(inputs|outputs)\.(parameters|artifacts)\['([^']+)'\]"
    r"(?:\.(output_file|uri|metadata\['([^']+)'\]))?\}\}"
)


def launcher_of(command: list[str]) -> str | None:
    """The GCPC module a container command runs, when the simulation runs it."""
    for module in LAUNCHERS:
        if module in command:
            return module
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _fill(text: str, executor_input: dict) -> str:
    """Every placeholder in one string replaced by its value."""
    if text == "{{$}}":
        return json.dumps(executor_input)
    inputs, outputs = executor_input["inputs"], executor_input["outputs"]

    def value(match: re.Match) -> str:
        side, kind, name, attribute, key = match.groups()
        if side == "inputs" and kind == "parameters":
            return _text(inputs["parameterValues"].get(name))
        if side == "outputs" and kind == "parameters":
            return str(outputs["parameters"][name]["outputFile"])
        artifact = (inputs if side == "inputs" else outputs)["artifacts"][name]["artifacts"][0]
        if attribute == "uri":
            return str(artifact["uri"])
        if key is not None:
            return _text(artifact.get("metadata", {}).get(key, ""))
        raise ValueError(f"placeholder {match.group(0)} is not one the simulation resolves")

    filled = _PLACEHOLDER.sub(value, text)
    if "{{$" in filled:
        raise ValueError(f"placeholder in {text!r} is not one the simulation resolves")
    return filled


def _present(name: str, executor_input: dict) -> bool:
    inputs = executor_input["inputs"]
    if inputs["parameterValues"].get(name) is not None:
        return True
    return name in inputs.get("artifacts", {})


def _structure(node: Any, executor_input: dict) -> list[str]:
    """A compiled argument (a string, or KFP's IfPresent/Concat as JSON) as the strings it
    becomes on Vertex: none, one, or several."""
    if isinstance(node, list):
        return [part for item in node for part in _structure(item, executor_input)]
    if isinstance(node, dict) and "IfPresent" in node:
        spec = node["IfPresent"]
        chosen = spec.get("Then") if _present(spec["InputName"], executor_input) else spec.get(
            "Else")  # fmt: skip
        return [] if chosen is None else _structure(chosen, executor_input)
    if isinstance(node, dict) and "Concat" in node:
        return ["".join("".join(_structure(p, executor_input)) for p in node["Concat"])]
    if isinstance(node, str):
        stripped = node.strip()
        if stripped.startswith('{"IfPresent"') or stripped.startswith('{"Concat"'):
            return _structure(json.loads(stripped), executor_input)
        return [_fill(node, executor_input)]
    raise ValueError(f"container argument {node!r} is not one the simulation resolves")


def resolve(args: list[str], executor_input: dict) -> list[str]:
    """A container's arguments as Vertex passes them to the process."""
    return _structure(list(args), executor_input)


def point_at_simulation(endpoint: str) -> None:
    """The SDK, and the clients GCPC's launchers build, at the simulated endpoint over REST."""
    from google.cloud import aiplatform

    from kernel import gcp

    gcp.point_libraries()
    # the project named, so the SDK does not ask Resource Manager (over gRPC, to Google) for
    # the ID of the number it would otherwise read from the environment
    project = os.environ.get("GOOGLE_CLOUD_PROJECT") or None
    aiplatform.init(project=project, api_endpoint=endpoint, api_transport="rest")
    built = aiplatform.gapic.JobServiceClient

    def job_client(client_options: Any = None, client_info: Any = None) -> Any:
        return built(
            client_options={"api_endpoint": endpoint}, client_info=client_info, transport="rest"
        )

    aiplatform.gapic.JobServiceClient = job_client


def main(argv: list[str]) -> int:
    from kernel import gcp

    if not argv or argv[0] not in LAUNCHERS:
        print(f"simulation.gcpc: runs one of {LAUNCHERS}, not {argv[:1]}", file=sys.stderr)
        return 2
    endpoint = gcp.endpoint("aiplatform")
    if endpoint is None:
        print(f"simulation.gcpc: {gcp.ENV_VAR} is not set: no simulated cloud", file=sys.stderr)
        return 2
    point_at_simulation(endpoint)
    module, *rest = argv
    sys.argv = [module, *rest]
    if module.endswith("launcher"):  # its main takes argv; `if __name__` passes sys.argv[1:]
        from importlib import import_module

        import_module(module).main(rest)
    else:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
