"""What each command is for and how people call it: the text `mlops COMMAND --help` shows
above and below its flags. One table, so a test can hold every command to a description
and run every example through the real parser."""

from __future__ import annotations

import argparse

# command path -> (description, examples); every example is parsed by tests/mlops/test_help.py
GUIDE: dict[str, tuple[str, list[str]]] = {
    "train": (
        "Train the census model alone, outside the pipeline, and evaluate it on the official "
        "test split: the model, metrics.json and an HTML report (ROC, calibration, slices) in "
        "--output-dir.",
        ["mlops train", "mlops train --num-boost-round 400 --output-dir build/train-400"],
    ),
    "synth": (
        "Synthesize the env stacks (CDKTF) to Terraform JSON under envs/ENV/cdktf.out; warns "
        "about settings still at their example values.",
        ["mlops synth", "mlops synth --env prod"],
    ),
    "policy": (
        "Synthesize, then run the policy gate every pull request runs: each stack's rules, "
        "images pinned by digest, and the first apply played in a simulated cloud. Exit 1 "
        "names what failed.",
        ["mlops policy", "mlops policy --env staging"],
    ),
    "run": (
        "Run the promotion pipeline: ingest, validate, train, evaluate, export, decide, and "
        "deploy to prod's endpoint with a canary if the challenger wins. --local runs it on "
        "this machine (kfp.local); --target vertex --simulated runs the compiled Vertex "
        "pipeline against a simulated Google Cloud as the production identities.",
        [
            "mlops run --local",
            "mlops run --local --param training.num_boost_round=400",
            "mlops run --local --param trainer=both --json",
            "mlops run --target vertex --simulated --wire",
        ],
    ),
    "compile": (
        "Compile the promotion pipeline to a KFP YAML template (what the staging build "
        "publishes and the retraining function runs).",
        [
            "mlops compile",
            "mlops compile --target local --output build/local.yaml",
        ],
    ),
    "doctor": (
        "The preflight every submission runs, on its own: KMS keys and their grants, buckets "
        "and dataset with the right CMEK key, and settings still at their example values. "
        "Needs Google credentials.",
        ["mlops doctor --env staging", "mlops doctor --env prod --json"],
    ),
    "submit": (
        "Run the pipeline on Vertex AI Pipelines: the preflight (no flag skips it), then the "
        "PipelineJob as the env's pipeline identity; --wait follows each task and fails if "
        "the run fails. --dry-run prints the request and what a real submit would refuse, "
        "without credentials.",
        [
            "mlops submit --dry-run",
            "mlops submit --env staging --wait --param tenants.serving_image="
            "europe-west4-docker.pkg.dev/census-ml-staging/census-images/serving@sha256:"
            + "0"
            * 64,
        ],
    ),
    "serve": (
        "Serve the local prod endpoint with Vertex AI's container contract (/predict, /health, "
        "traffic split between versions), logging every request; the dashboard is at / and "
        "the on-device app at /app/. Exit 7 when the port is taken.",
        ["mlops serve", "mlops serve --port 8081"],
    ),
    "monitor": (
        "Skew against the training baseline and drift between consecutive windows of logged "
        "traffic, as TFDV (Vertex AI Model Monitoring) measures them. Exit 3 on an alert, "
        "6 when the window holds fewer rows than the minimum.",
        [
            "mlops monitor",
            "mlops monitor --window 1h --json",
            "mlops monitor --window 2d --until 2026-12-01T09:00 --min-rows 500",
        ],
    ),
    "canary": (
        "Judge the challenger that holds a canary share: promote it to 100% or roll it back, "
        "on the error rate and latency of the traffic it served. Exit 4 rolled back, 5 not "
        "enough traffic yet, 6 nothing to judge.",
        ["mlops canary", "mlops canary --window-minutes 30 --json"],
    ),
    "deploy": (
        'Deploy a candidate a run approved (promotion = "approval"): what prod\'s deploy '
        "trigger runs as the prod deployer once a person approved the build.",
        [
            "mlops deploy --candidate gs://census-ml-staging-models/candidates/RUN "
            "--digest " + "0" * 64,
        ],
    ),
    "runs": (
        "Recent runs, newest first: short id, start, commit, data, metrics, outcome "
        "(failed runs with their step and error), version and cost.",
        ["mlops runs", "mlops runs --limit 5 --json", "mlops runs --html build/runs.html"],
    ),
    "runs compare": (
        "Two runs side by side, the changed values first and whole: parameters, data, "
        "metrics, outcome, cost. A run is its id, its short id, latest or latest~N.",
        ["mlops runs compare latest~1 latest", "mlops runs compare 8-986280 latest --all"],
    ),
    "lineage": (
        "Where a prod version came from: commit, run, data, model, the decision, its traffic "
        "now, and the monitoring alerts since it was deployed.",
        ["mlops lineage 1", "mlops lineage 2 --json"],
    ),
    "cost": (
        "Prod's monthly cost at list prices from its settings (endpoint, monitoring, storage, "
        "keys) and the last run's.",
        ["mlops cost", "mlops cost --json"],
    ),
    "simulate": (
        "Play the platform's life in a simulated Google Cloud seeded from the synthesized "
        "stacks, each call made as the identity that makes it in production.",
        ["mlops simulate life", "mlops simulate infra"],
    ),
    "simulate life": (
        "Runs 1 to 4 in one simulated cloud: a canary, the scheduled judgement, a bad release "
        "rolled back, approval turned on, a monitoring anomaly that starts a retraining.",
        ["mlops simulate life", "mlops simulate life --wire"],
    ),
    "simulate infra": (
        "The stacks' bootstrap and first apply as the owner, a pull request's plan as the "
        "planner, CI's applies as census-infra, and four mistakes failing as Google would.",
        ["mlops simulate infra"],
    ),
    "simulate ci": (
        "An event's Cloud Build builds in a simulated cloud: which triggers fire, as whom, "
        "each step run or stood in for, its calls and their verdicts (docs/cicd.md).",
        [
            "mlops simulate ci push --branch staging --files kernel/names.py",
            "mlops simulate ci pull-request --branch main --files infra/stack.py --author outside",
            "mlops simulate ci run --trigger census-canary",
        ],
    ),
    "completion": (
        "Print the shell code that completes mlops commands and flags; source it from your "
        "shell's startup file.",
        [
            "mlops completion bash >> ~/.bashrc",
            "mlops completion zsh > ~/.zfunc/_mlops",
        ],
    ),
}


class Formatter(argparse.HelpFormatter):
    """Descriptions wrapped to the terminal; examples as written, one per line."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def commands_of(
    parser: argparse.ArgumentParser, path: str = ""
) -> dict[str, argparse.ArgumentParser]:
    """{"runs compare": its parser, ...}: every command and nested action, by its path."""
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                full = f"{path} {name}".strip()
                found[full] = child
                found.update(commands_of(child, full))
    return found


def annotate(parser: argparse.ArgumentParser) -> None:
    """Each command's description above its flags and its examples below them."""
    for path, child in commands_of(parser).items():
        if path not in GUIDE:
            continue
        description, examples = GUIDE[path]
        child.description = description
        child.epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples)
        child.formatter_class = Formatter
