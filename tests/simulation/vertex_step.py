"""Run a promotion step on the Vertex target, in its own process, as whoever the
environment makes it (the tests set the simulation's metadata server for a principal).

    python vertex_step.py deploy CANDIDATE_URI RUN_ID SERVING_IMAGE [CANARY_PERCENT]
    python vertex_step.py monitor BASELINE_URI
    python vertex_step.py ingest OUT_DIR   (then validate: OUT_DIR/baseline.json)
    python vertex_step.py champion
    python vertex_step.py runs RUN_ID   (records two steps of RUN_ID, reads every run back)
    python vertex_step.py warehouse GS_URI
    python vertex_step.py hold WHO   (prod's change lease, as the deploy takes it, until stdin ends)
"""

import json
import sys
from pathlib import Path

from adapters import wiring
from kernel.errors import UserError
from pipelines import context
from promotion.steps import staging as staging_steps
from settings import load_platform, tenants_for


def main(step: str, *args: str) -> None:
    platform = load_platform()
    tenants = tenants_for(platform, "staging", local=False)
    if step == "deploy":
        candidate, run_id, image, *overrides = args  # [canary percent [versions retained]]
        tenants = tenants.model_copy(update={"serving_image": image})
        rollout = platform["prod"].serving.rollout
        fields = ("canary_percent", "versions_retained")
        rollout = rollout.model_copy(
            update={f: int(v) for f, v in zip(fields, overrides, strict=False)}
        )
        prod = wiring.open_prod("vertex", "", tenants)
        result = context.deploy(
            prod,
            candidate_uri=candidate,
            run_id=run_id,
            commit="abc123",
            rollout=rollout,
            log=lambda line: print(f"deploy: {line}", flush=True),
        )
        print("RESULT " + json.dumps(result.as_dict()))
    elif step == "ingest":
        out = Path(args[0])
        staging = wiring.open_staging("vertex", "", tenants)
        data = f"gs://{platform['staging'].buckets.data}/census"
        root = f"gs://{platform['staging'].buckets.pipeline_root}/step-test"
        summary = staging_steps.ingest(
            staging.warehouse,
            {"train": f"{data}/adult.data", "test": f"{data}/adult.test"},
            0.01,
            {"train": f"{root}/train_data", "test": f"{root}/test_data"},
            out / "quarantine",
        )
        # the validate step after it: BigQuery counts census_train's values, nothing else
        baseline = staging_steps.validate(staging.warehouse, out / "baseline.json")
        print("RESULT " + json.dumps({**summary, "baseline_rows": baseline["rows"]}))
    elif step == "monitor":
        (baseline,) = args
        prod = wiring.open_prod("vertex", "", tenants)
        _, action = context.monitor(prod, tenants, baseline, platform["prod"].monitoring_settings())
        print("RESULT " + json.dumps({"action": action}))
    elif step == "hold":  # prod's change lease, held as the deploy step holds it
        (who,) = args
        prod = wiring.open_prod("vertex", "", tenants)
        try:
            with prod.changing(who):
                print("holding", flush=True)
                sys.stdin.read()
        except UserError as exc:  # busy: as the CLI says it
            print(f"BUSY {exc}", flush=True)
            sys.exit(exc.exit_code)
    elif step == "warehouse":  # one file through BigQuery: counts and the quarantine
        (uri,) = args
        warehouse = wiring.open_staging("vertex", "", tenants).warehouse
        ingested = warehouse.ingest("train", uri)
        bad = [q.__dict__ for q in warehouse.quarantined("train")]
        print("RESULT " + json.dumps({"ingested": ingested.__dict__, "quarantined": bad}))
    elif step == "champion":  # what decide reads in prod, as the prod reader
        prod = wiring.open_prod("vertex", "", tenants, as_="reader")
        champion = prod.registry.alias("champion")
        local = prod.registry.fetch(champion)
        files = sorted(p.name for p in Path(local).rglob("*") if p.is_file())
        print("RESULT " + json.dumps({"version": champion.version, "files": files}))
    elif step == "runs":  # the run log, as the steps write it and `mlops runs` reads it
        (run_id,) = args
        log = wiring.open_staging("vertex", "", tenants).runs
        log.record(run_id, "ingest", {"commit": "abc123", "splits": {"train": {"rows": 32561}}})
        log.record(run_id, "evaluate", {"metrics": {"roc_auc": 0.93}, "training": {"seed": 7}})
        records = [{"run_id": r.run_id, "step": r.step, "facts": r.facts} for r in log.records()]
        print("RESULT " + json.dumps(records))
    else:
        raise SystemExit(f"unknown step {step}")


if __name__ == "__main__":
    main(*sys.argv[1:])
