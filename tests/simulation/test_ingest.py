"""The ingest step on the Vertex target: BigQuery load jobs into the CMEK dataset, as the
staging pipeline identity, against the simulation (DuckDB answers BigQuery's queries)."""

import base64
import gzip
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from monitoring_fixtures import baseline
from simulated import without

from trainer import loader

pytestmark = pytest.mark.slow  # synthesizes the stacks or starts the simulated cloud

PIPELINE = "census-pipeline@census-ml-staging.iam.gserviceaccount.com"
STEP = Path(__file__).with_name("vertex_step.py")


def seed_census(sim) -> None:
    folder = sim.root / "storage/census-ml-staging-data/census"
    folder.mkdir(parents=True)
    for split, name in (("train", "adult.data"), ("test", "adult.test")):
        (folder / name).write_bytes(gzip.decompress(loader.bundled_path(split).read_bytes()))


def ingest(sim, out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, **sim.environ(PIPELINE)}
    return subprocess.run(
        [sys.executable, str(STEP), "ingest", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ingest_loads_the_census_into_bigquery(cloud, tmp_path):
    sim = cloud()
    seed_census(sim)
    done = ingest(sim, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.split("RESULT ", 1)[1])
    data = (sim.root / "storage/census-ml-staging-data/census/adult.data").read_bytes()
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    assert summary["train"] == {"rows": 32_561, "quarantined": 0, "checksum": f"md5:{md5}"}
    # BigQuery loaded the file from Cloud Storage: nothing was uploaded by the component
    jobs = [e for e in sim.wire if e.method == "bigquery.jobs.insert"]
    assert jobs and not any("/upload/" in e.path for e in jobs)
    assert any(
        c.permission == "storage.objects.get" and c.resource.endswith("census/adult.data")
        for e in jobs
        for c in e.checks
    )
    # ...and exported the typed rows itself (EXPORT DATA, as the caller) for the next steps
    shard = sim.root / "storage/census-ml-staging-pipeline-root/step-test/train_data"
    (part,) = shard.glob("part-*.csv")
    exported = loader.load_census(shard, max_bad_fraction=0.0)
    assert len(exported.frame) == 32_561 and part.name == "part-000000000000.csv"
    # validate: BigQuery's value counts give the same baseline as DuckDB's, as the pipeline
    last_query = [e for e in sim.wire if e.method == "bigquery.jobs.insert"][-1]
    assert last_query.principal == PIPELINE and last_query.status == 200
    assert summary["baseline_rows"] == 32_561
    assert json.loads((tmp_path / "baseline.json").read_text()) == baseline()
    assert any(
        c.permission == "storage.objects.create" and "step-test/train_data" in c.resource
        for e in jobs
        for c in e.checks
    )
    # the rules ran in BigQuery, as BigQuery SQL, creating the typed and quarantine tables
    creates = {c.resource for e in sim.wire for c in e.checks if c.permission.endswith(".create")}
    assert "projects/census-ml-staging/datasets/census" in creates
    assert summary["test"]["rows"] == 16_281
    loads = [e for e in sim.wire if e.method == "bigquery.jobs.insert"]
    assert loads and {e.principal for e in loads} == {PIPELINE}
    assert any("as bq-100000000002@" in c.permission for e in loads for c in e.checks)


def test_without_the_bigquery_agents_key_grant_the_load_fails(cloud, stacks, tmp_path):
    sim = cloud(
        without(
            stacks,
            "staging",
            "google_kms_crypto_key_iam_member",
            lambda b: "bigquery-encryption" in b["member"],
        )
    )
    seed_census(sim)
    done = ingest(sim, tmp_path)
    assert done.returncode != 0
    assert "does not have permission to encrypt" in done.stderr


def test_bigquery_quarantines_what_duckdb_quarantines(cloud, tmp_path):
    """The edge cases, through the simulated BigQuery (a gs:// load, rows shuffled) and the
    local DuckDB warehouse: the same rows, the same reasons and raw texts; only DuckDB knows
    line numbers (a BigQuery table has no source positions)."""
    from trainer_edge_cases import edge_case_file

    from adapters.local.warehouse import DuckDBWarehouse

    data = edge_case_file()
    sim = cloud()
    target = sim.root / "storage/census-ml-staging-data/census/edge.csv"
    target.parent.mkdir(parents=True)
    target.write_bytes(data)
    done = subprocess.run(
        [sys.executable, str(STEP), "warehouse", "gs://census-ml-staging-data/census/edge.csv"],
        env={**os.environ, **sim.environ(PIPELINE)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    bigquery = json.loads(done.stdout.split("RESULT ", 1)[1])
    local_file = tmp_path / "edge.csv"
    local_file.write_bytes(data)
    local = DuckDBWarehouse(tmp_path / "w.duckdb")
    ingested = local.ingest("train", str(local_file))
    duck = local.quarantined("train")
    assert bigquery["ingested"]["rows"] == ingested.rows
    assert bigquery["ingested"]["quarantined"] == ingested.quarantined == len(duck) >= 6
    assert sorted((q["reason"], q["raw"]) for q in bigquery["quarantined"]) == sorted(
        (q.reason, q.raw) for q in duck
    )
    assert {q["line"] for q in bigquery["quarantined"]} == {None}
    assert all(q.line is not None for q in duck)
