"""Vertex AI Pipelines, simulated: a created PipelineJob runs its compiled DAG here.

Each task's container command runs on this machine as the job's service account (through
the simulation's metadata server), with the KFP executor input Vertex would give it and the
simulated Cloud Storage mounted at /gcs, as Cloud Storage FUSE mounts it on Vertex (a private
mount namespace per task: simulation/mounts.py). Images of this repository run with this
interpreter: a lightweight component's command runs in a process forked from the warm
executor's server (pipelines/warm_executor.py, imports done once), anything else as a new
process under `unshare --mount`. The Google Cloud Pipeline Components custom-job launcher
cannot be pointed at another endpoint (it builds its own gRPC client for
{region}-aiplatform.googleapis.com), so a custom-job task is run the way the launcher would
have Vertex run it: the CustomJob its payload describes is created here (service account,
CMEK) and its worker runs as the job's identity with the task's own executor input.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pipelines import warm_executor
from simulation import gcpc, mounts
from simulation.wire import ApiError

GCPC = "gcr.io/ml-pipeline/google-cloud-pipeline-components"
COMPONENTS_IMAGE = "/components:"  # this repository's component image
_PARAM = re.compile(r"\{\{\$\.inputs\.parameters\['([^']+)'\]\}\}")
_CONDITION = re.compile(r"inputs\.parameter_values\['([^']+)'\]\s*(==|!=)\s*(true|false|'[^'\\]*')")


class StepFailed(Exception):
    pass


def unshare() -> list[str]:
    """A private mount namespace for one task (root, or a user namespace otherwise)."""
    command = ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "-rm"]
    try:
        subprocess.run([*command, "true"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise StepFailed(
            "the simulated pipeline mounts its Cloud Storage at /gcs in a private mount "
            f"namespace and cannot here ({exc}); run it as root or with user namespaces"
        ) from None
    return command


def topological(tasks: dict[str, dict]) -> list[str]:
    """Task names in an order that runs every task after the tasks it depends on."""
    done: list[str] = []
    pending = dict(tasks)
    while pending:
        ready = [n for n, t in pending.items() if set(t.get("dependentTasks", [])) <= set(done)]
        if not ready:
            raise StepFailed(
                f"the pipeline's tasks depend on each other in a cycle: {sorted(pending)}"
            )
        for name in sorted(ready):
            done.append(name)
            pending.pop(name)
    return done


def condition_holds(condition: str, parameters: dict) -> bool:
    """The trigger conditions KFP compiles for dsl.If(x == True/False), dsl.If(x != "a")
    and their dsl.Else (the same condition negated: `!(...)`)."""
    text = condition.strip()
    if text.startswith("!(") and text.endswith(")"):
        return not condition_holds(text[2:-1], parameters)
    match = _CONDITION.fullmatch(text)
    if match is None:
        raise StepFailed(f"the simulation cannot evaluate the condition {condition!r}")
    name, operator, literal = match.groups()
    expected = literal == "true" if literal in ("true", "false") else literal[1:-1]
    value = parameters.get(name)
    equal = value is expected if isinstance(expected, bool) else value == expected
    return equal if operator == "==" else not equal


def dag_outputs(dag: dict, produced: dict[str, dict]) -> dict:
    """A sub-DAG's output artifacts: each from the first of its selectors whose task ran
    (dsl.OneOf over an if/else: exactly one of them did)."""
    outputs = {}
    for key, spec in dag.get("outputs", {}).get("artifacts", {}).items():
        for selector in spec["artifactSelectors"]:
            ran = produced.get(selector["producerSubtask"])
            if ran is not None and selector["outputArtifactKey"] in ran:
                outputs[key] = ran[selector["outputArtifactKey"]]
                break
        else:
            raise StepFailed(f"no task of the branches produced {key!r}")
    return outputs


def substitute_payload(payload: str, parameters: dict) -> dict:
    """The launcher's --payload with its input placeholders filled in, parsed."""

    def quoted(m: re.Match) -> str:
        value = parameters.get(m.group(1), "")
        return json.dumps(value if isinstance(value, str) else json.dumps(value))

    text = re.sub(r'"\{\{\$\.inputs\.parameters\[\'([^\']+)\'\]\}\}"', quoted, payload)
    text = _PARAM.sub(lambda m: json.dumps(parameters.get(m.group(1))), text)
    return json.loads(text)


class PipelineRunner:
    """Runs created pipeline jobs in background threads; `wait()` joins them."""

    def __init__(self, sim, log: Callable[[str], None] = print) -> None:
        self.sim, self.log = sim, log
        self.threads: list[threading.Thread] = []

    def __call__(self, job: dict) -> None:
        thread = threading.Thread(target=self.run, args=(job,), name="pipeline", daemon=True)
        self.threads.append(thread)
        thread.start()

    def wait(self, timeout: float = 1800) -> None:
        for thread in self.threads:
            thread.join(timeout)

    def run(self, job: dict) -> None:
        job_id = job["name"].rsplit("/", 1)[-1]
        spec = job["pipelineSpec"]
        root_inputs = spec["root"].get("inputDefinitions", {}).get("parameters", {})
        values = job.get("runtimeConfig", {}).get("parameterValues", {})
        parameters = {n: values.get(n, d.get("defaultValue")) for n, d in root_inputs.items()}
        context = {
            "job": job,
            "job_id": job_id,
            "spec": spec,
            "root": job["runtimeConfig"]["gcsOutputDirectory"].rstrip("/") + f"/{job_id}",
            "logs": self.sim.root / "pipelines" / job_id,
        }
        context["logs"].mkdir(parents=True, exist_ok=True)
        job["state"] = "PIPELINE_STATE_RUNNING"
        job["jobDetail"] = {"taskDetails": []}  # what Vertex reports of each task, as it runs
        self.log(f"pipeline {job_id}: running as {job.get('serviceAccount')}")
        try:
            self._dag(context, spec["root"], parameters, {})
            job["state"] = "PIPELINE_STATE_SUCCEEDED"
        except (StepFailed, ApiError) as exc:
            job["state"] = "PIPELINE_STATE_FAILED"
            job["error"] = {"code": 9, "message": str(exc)}
            self.log(f"pipeline {job_id}: FAILED: {exc}")
        job["endTime"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    # The DAG ------------------------------------------------------------------------------

    def _dag(self, context: dict, component: dict, parameters: dict, artifacts: dict) -> dict:
        tasks = component["dag"]["tasks"]
        out_parameters: dict[str, dict] = {}
        out_artifacts: dict[str, dict] = {}
        for name in topological(tasks):
            task = tasks[name]
            child = context["spec"]["components"][task["componentRef"]["name"]]
            params = self._parameters(context, task, child, parameters, out_parameters)
            arts = {
                key: (
                    artifacts[ref["componentInputArtifact"]]
                    if "componentInputArtifact" in ref
                    else out_artifacts[ref["taskOutputArtifact"]["producerTask"]][
                        ref["taskOutputArtifact"]["outputArtifactKey"]
                    ]
                )
                for key, ref in task.get("inputs", {}).get("artifacts", {}).items()
            }
            condition = task.get("triggerPolicy", {}).get("condition")
            if condition and not condition_holds(condition, params):
                self.log(f"  {name}: skipped ({condition})")
                continue
            if "dag" in child:
                out_parameters[name] = {}
                out_artifacts[name] = self._dag(context, child, params, arts)
                continue
            out_parameters[name], out_artifacts[name] = self._execute(
                context, name, child, params, arts
            )
        return dag_outputs(component["dag"], out_artifacts)

    def _parameters(self, context, task, child, scope: dict, produced: dict) -> dict:
        values = {}
        defaults = child.get("inputDefinitions", {}).get("parameters", {})
        for key, definition in defaults.items():
            if "defaultValue" in definition:
                values[key] = self._runtime(context, definition["defaultValue"])
        for key, ref in task.get("inputs", {}).get("parameters", {}).items():
            if "componentInputParameter" in ref:
                values[key] = scope.get(ref["componentInputParameter"])
            elif "taskOutputParameter" in ref:
                out = ref["taskOutputParameter"]
                values[key] = produced[out["producerTask"]][out["outputParameterKey"]]
            elif "runtimeValue" in ref:
                values[key] = self._runtime(context, ref["runtimeValue"]["constant"])
        return values

    def _runtime(self, context: dict, value):
        """The pipeline-level placeholders Vertex fills in."""
        if not isinstance(value, str):
            return value
        job = context["job"]
        project, location = job["name"].split("/")[1], job["name"].split("/")[3]
        return (
            value.replace("{{$.pipeline_job_name}}", context["job_id"])
            .replace("{{$.pipeline_google_cloud_project_id}}", project)
            .replace("{{$.pipeline_google_cloud_location}}", location)
            .replace("{{$.pipeline_persistent_resource_id}}", "")
        )

    # One task -----------------------------------------------------------------------------

    def _execute(self, context, name: str, component: dict, params: dict, arts: dict):
        executor = context["spec"]["deploymentSpec"]["executors"][component["executorLabel"]]
        container = executor["container"]
        outputs = component.get("outputDefinitions", {})
        folder = context["logs"] / name
        folder.mkdir(parents=True, exist_ok=True)
        executor_input = {
            "inputs": {"parameterValues": params, "artifacts": arts},
            "outputs": {
                "parameters": {
                    key: {"outputFile": str(folder / f"param-{key}")}
                    for key in outputs.get("parameters", {})
                },
                "artifacts": {
                    key: {
                        "artifacts": [
                            {
                                "name": key,
                                "type": spec["artifactType"],
                                "uri": f"{context['root']}/{name}/{key}",
                                "metadata": {},
                            }
                        ]
                    }
                    for key, spec in outputs.get("artifacts", {}).items()
                },
                "outputFile": str(folder / "executor_output.json"),
            },
        }
        identity = context["job"].get("serviceAccount") or ""
        self.log(f"  {name}: running as {identity}")
        started = time.perf_counter()
        detail = {"taskName": name, "startTime": _stamp(), "state": "RUNNING"}
        context["job"]["jobDetail"]["taskDetails"].append(detail)
        launcher = " ".join(container["command"])
        if container["image"].startswith(GCPC) and "custom_job.launcher" in launcher:
            self._custom_job(context, name, container, params, executor_input, folder)
        elif container["image"].startswith(GCPC):
            module = gcpc.launcher_of(container["command"])
            if module is None:
                detail.update(endTime=_stamp(), state="FAILED")
                raise StepFailed(f"{name}: the simulation does not run GCPC's {launcher}")
            command = container["command"]
            args = command[command.index(module) + 1 :]  # e.g. --cls_name, --method_name
            args += gcpc.resolve(container.get("args", []), executor_input)
            self.log(f"  {name}: {module.rsplit('.', 2)[-2]} as {identity}")
            shim = [sys.executable, "-m", "simulation.gcpc", module, *args]
            self._run(shim, identity, folder / "task.log", {})
        else:
            self._pull(context, container["image"], identity)
            args = [json.dumps(executor_input) if a == "{{$}}" else a for a in container["args"]]
            self._run(container["command"] + args, identity, folder / "task.log", {})
        self.log(f"  {name}: done in {time.perf_counter() - started:.1f}s")
        detail.update(endTime=_stamp(), state="SUCCEEDED")
        return self._outputs(executor_input, folder)

    def _outputs(self, executor_input: dict, folder: Path) -> tuple[dict, dict]:
        written = folder / "executor_output.json"
        result = json.loads(written.read_text()) if written.exists() else {}
        parameters = dict(result.get("parameterValues", {}))
        for key, where in executor_input["outputs"]["parameters"].items():
            path = Path(where["outputFile"])
            if key not in parameters and path.exists():
                text = path.read_text()
                try:
                    parameters[key] = json.loads(text)
                except ValueError:
                    parameters[key] = text
        artifacts = executor_input["outputs"]["artifacts"]
        for key, produced in result.get("artifacts", {}).items():
            artifacts[key] = produced
        return parameters, artifacts

    def _pull(self, context: dict, image: str, identity: str) -> None:
        """A task's image must be readable by the job's identity (Artifact Registry)."""
        from simulation.serving import repository_of

        repository = repository_of(image)
        if repository and not self.sim.allowed(
            identity, "artifactregistry.repositories.downloadArtifacts", repository
        ):
            raise StepFailed(f"{identity} may not pull {image} (artifactregistry reader)")

    def _custom_job(self, context, name, container, params, executor_input, folder) -> None:
        payload = substitute_payload(
            container["args"][container["args"].index("--payload") + 1], params
        )
        job_spec = payload["job_spec"]
        project = params.get("project") or context["job"]["name"].split("/")[1]
        location = params.get("location")
        identity = job_spec.get("service_account") or ""
        caller = context["job"].get("serviceAccount") or ""
        key = (payload.get("encryption_spec") or {}).get("kms_key_name") or None
        self.sim.create_custom_job(
            caller, project, location, payload["display_name"], identity, key
        )
        (pool,) = job_spec["worker_pool_specs"]
        spec = pool["container_spec"]
        self._pull(context, spec["image_uri"], identity)
        args = [
            json.dumps(executor_input) if a == "{{$.json_escape[1]}}" else a for a in spec["args"]
        ]
        env = {
            "CLOUD_ML_PROJECT_ID": project,
            "CLOUD_ML_REGION": location or "",
            "AIP_TRAINING_DATA_URI": "",
        }
        self.log(f"  {name}: custom job as {identity} on {pool['machine_spec']['machine_type']}")
        self._run(spec["command"] + args, identity, folder / "worker.log", env)
        resources = {"resources": [{"resourceType": "CustomJob", "resourceUri": name}]}
        gcp_resources = executor_input["outputs"]["parameters"].get("gcp_resources")
        if gcp_resources:
            Path(gcp_resources["outputFile"]).write_text(json.dumps(resources))

    def _run(self, command: list[str], identity: str, log: Path, extra: dict) -> None:
        storage = self.sim.root / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            **(self.sim.environ(identity) if identity else {}),
            **extra,
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
        }
        task = warm_executor.parse_command(command)
        if task is not None:  # forked from the warm server, /gcs mounted in its process
            prepare = functools.partial(mounts.mount_storage, str(storage))
            code = warm().run_to_file(task, env, str(log), prepare)
        else:
            mount = 'mkdir -p /gcs && mount --bind "$0" /gcs && exec "$@"'
            with open(log, "w") as out:
                code = subprocess.run(
                    [*unshare(), "sh", "-ec", mount, str(storage), *command],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    check=False,
                ).returncode
        if code != 0:
            tail = log.read_text()[-1500:]
            raise StepFailed(f"task failed ({code}); its log ends:\n{tail}")


# The libraries the Vertex shells import inside functions, beside the local steps' preload.
VERTEX_PRELOAD = (
    "google.cloud.aiplatform",
    "google.cloud.aiplatform_v1",
    "google.cloud.bigquery",
    "google.cloud.storage",
    "adapters.vertex.registry",
    "adapters.vertex.endpoint",
    "adapters.vertex.monitoring",
)


@functools.cache
def warm() -> warm_executor.WarmExecutor:
    """One warm executor per process: its fork server imports once for every task of every
    simulated pipeline this process runs."""
    return warm_executor.WarmExecutor([*warm_executor.preload_modules(), *VERTEX_PRELOAD])


def _stamp() -> str:
    """RFC 3339 with microseconds, as Vertex writes task times."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"
