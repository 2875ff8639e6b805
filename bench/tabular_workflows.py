"""Measures what Tabular Workflows (GCPC's AutoML tabular pipeline) would add as one step of
the promotion pipeline, next to the classic AutoML op it uses (docs/automl.md):
python bench/tabular_workflows.py  -> prints the figures (no cloud needed)."""

import os
import tempfile
import time
from collections import Counter

import yaml
from figures import record

KEY = "projects/census-ml-staging/locations/europe-west4/keyRings/census-ml/cryptoKeys/vertex"


def main() -> None:
    import google_cloud_pipeline_components as gcpc
    from google_cloud_pipeline_components.v1.dataset import TabularDatasetCreateOp
    from kfp import compiler, components, dsl

    path = os.path.join(
        os.path.dirname(gcpc.__file__), "v1/automl/tabular/automl_tabular_pipeline.yaml"
    )
    with open(path) as text:
        spec = yaml.safe_load(text)
    started = time.perf_counter()
    workflow = components.load_component_from_file(path)

    @dsl.pipeline(name="tabular-workflows-as-a-step")
    def as_a_step(project: str = "census-ml-staging"):
        dataset = TabularDatasetCreateOp(
            project=project, location="europe-west4", display_name="census-train",
            bq_source="bq://census-ml-staging.census.census_train",
        )  # fmt: skip
        workflow(
            vertex_dataset=dataset.outputs["dataset"], project=project, location="europe-west4",
            root_dir="gs://census-ml-staging-pipeline-root", target_column="income_bracket",
            prediction_type="classification", optimization_objective="maximize-au-roc",
            transformations="gs://census-ml-staging-pipeline-root/transformations.json",
            train_budget_milli_node_hours=1000.0,
            data_source_bigquery_table_path="bq://census-ml-staging.census.census_train",
            dataflow_service_account="census-trainer@census-ml-staging.iam.gserviceaccount.com",
            encryption_spec_key_name=KEY,
        )  # fmt: skip

    with tempfile.TemporaryDirectory() as folder:
        compiler.Compiler().compile(as_a_step, os.path.join(folder, "p.yaml"))
    elapsed = time.perf_counter() - started
    executors = [e.get("container", {}) for e in spec["deploymentSpec"]["executors"].values()]
    kinds: Counter[str] = Counter()
    for container in executors:
        text = " ".join(container.get("command", []) + container.get("args", []))
        for kind in ("CustomJob", "dataflow", "batch_prediction", "model_evaluation"):
            kinds[kind] += kind in text
    tasks = len(spec["root"]["dag"]["tasks"]) + sum(
        len(c["dag"]["tasks"]) for c in spec["components"].values() if "dag" in c
    )
    images = sorted({c["image"].split(":")[0] for c in executors if "image" in c})
    identities = [
        k for k in spec["root"]["inputDefinitions"]["parameters"] if "service_account" in k
    ]
    record(
        "tabular_workflows",
        {
            "compile_seconds": round(elapsed, 1),
            "tasks": tasks,
            "executors": len(executors),
            "custom_jobs": kinds["CustomJob"],
            "dataflow": kinds["dataflow"],
            "batch_predictions": kinds["batch_prediction"],
            "evaluations": kinds["model_evaluation"],
        },
    )
    print(f"loaded and compiled as one step beside TabularDatasetCreateOp in {elapsed:.1f} s")
    print(f"tasks inside: {tasks}; executors: {len(executors)}")
    print(f"executors launching custom jobs: {kinds['CustomJob']}; naming Dataflow: "
          f"{kinds['dataflow']}; batch prediction: {kinds['batch_prediction']}; model "
          f"evaluation: {kinds['model_evaluation']}")  # fmt: skip
    print(f"identity parameters: {identities}")
    print("images:", ", ".join(images))
    print(
        "the classic route (pipelines/pipeline.py vertex_automl_branch): 3 GCPC tasks + 2 of ours"
    )


if __name__ == "__main__":
    main()
