"""BigQuery: datasets, load jobs (uploaded files, NDJSON or CSV) and queries, answered by a
DuckDB database per simulation. Tables are named `project.dataset.table`; a table loaded into
a CMEK dataset needs the project's BigQuery agent to hold encrypt permission on the key.
"""

from __future__ import annotations

import io
import json
import random
import re
import threading
import time
import uuid
from typing import Any

import duckdb
import pandas as pd
import sqlglot
from starlette.responses import JSONResponse, Response

from simulation.apis.routing import register, route
from simulation.apis.uploads import Resumable, multipart
from simulation.wire import ApiError, Check

P = r"/bigquery/v2/projects/(?P<project>[^/]+)"
ENCRYPT = "cloudkms.cryptoKeyVersions.useToEncrypt"
_TYPES = {"INT64": "BIGINT", "INTEGER": "BIGINT", "FLOAT64": "DOUBLE", "FLOAT": "DOUBLE",
          "STRING": "VARCHAR", "BOOL": "BOOLEAN", "BOOLEAN": "BOOLEAN"}  # fmt: skip
_BQ_TYPES = {"BIGINT": "INTEGER", "DOUBLE": "FLOAT", "VARCHAR": "STRING", "BOOLEAN": "BOOLEAN"}
_TABLE = re.compile(r"`([a-z][a-z0-9-]*)\.([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)`")


def to_duckdb(sql: str) -> tuple[str, set[str]]:
    """BigQuery SQL as DuckDB runs it (sqlglot), and the `p.d.t` tables it creates.

    Parsing it as BigQuery SQL is the check that it is BigQuery SQL; `project.dataset.table`
    names become one quoted DuckDB table name each.
    """
    names: dict[str, str] = {}

    def placeholder(match: re.Match) -> str:
        names.setdefault(match.group(0), f"sim_table_{len(names)}")
        return names[match.group(0)]

    statement = sqlglot.parse_one(_TABLE.sub(placeholder, sql), read="bigquery")
    created = set()
    if isinstance(statement, sqlglot.exp.Create):
        target = statement.this.find(sqlglot.exp.Table)
        created = {ref for ref, name in names.items() if target is not None and target.name == name}
    text = statement.sql(dialect="duckdb")
    for ref, name in names.items():
        m = _TABLE.match(ref)
        assert m is not None
        text = re.sub(rf"\b{name}\b", f'"{m.group(1)}.{m.group(2)}.{m.group(3)}"', text)
    return text, created


def unquoted_csv(data: bytes, config: dict, names: list[str]) -> pd.DataFrame:
    """A CSV load with quoting off, as BigQuery does it: lines end at \\n or \\r\\n, fields at
    the delimiter, bytes that are not UTF-8 become U+FFFD, missing trailing columns are NULL
    with allowJaggedRows; and the table keeps no order: rows come out shuffled, so nothing
    can depend on an order BigQuery does not promise."""
    delimiter = config.get("fieldDelimiter", ",")
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    rows = []
    for number, line in enumerate(lines, 1):
        values: list = line.split(delimiter)
        if len(values) > len(names) and not config.get("ignoreUnknownValues"):
            raise ApiError(400, f"Too many columns on line {number}: {len(values)}")
        if len(values) < len(names) and not config.get("allowJaggedRows"):
            raise ApiError(400, f"Missing columns on line {number}: {len(values)}")
        rows.append((values + [None] * len(names))[: len(names)])
    random.Random(len(rows)).shuffle(rows)
    return pd.DataFrame(rows, columns=names)


class BigQuery:
    """One DuckDB database for every project's datasets, and the jobs that ran on it."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.database = duckdb.connect(str(self.sim.root / "bigquery.duckdb"))
        self.lock = threading.Lock()
        self.jobs: dict[str, dict] = {}
        self.creators: dict[str, str] = {}  # a job's creator may always read it (BigQuery's rule)
        self.results: dict[str, tuple[list[dict], list[list]]] = {}
        self.resumable = Resumable()

        self.sim.on_stop.append(self.database.close)

    def dataset_of(self, project: str, dataset: str):
        found = self.sim.world.datasets.get(f"{project}.{dataset}")
        if found is None:
            raise ApiError(404, f"Not found: Dataset {project}:{dataset}")
        return found

    def job_json(self, project: str, job_id: str, configuration: dict, location: str) -> dict:
        return {
            "kind": "bigquery#job",
            "id": f"{project}:{location}.{job_id}",
            "jobReference": {"projectId": project, "jobId": job_id, "location": location},
            "configuration": configuration,
            "status": {"state": "DONE"},
            "statistics": {"creationTime": str(int(time.time() * 1000))},
        }

    @route("GET", P + r"/datasets/(?P<dataset>[^/]+)", "bigquery.datasets.get")
    def get_dataset(self, call, project, dataset):
        call.authorize(f"projects/{project}/datasets/{dataset}")
        found = self.dataset_of(project, dataset)
        body = {
            "kind": "bigquery#dataset",
            "id": f"{project}:{dataset}",
            "datasetReference": {"projectId": project, "datasetId": dataset},
            "location": found.location,
        }
        if found.kms_key:
            body["defaultEncryptionConfiguration"] = {"kmsKeyName": found.kms_key}
        return JSONResponse(body)

    def load(self, call, project: str, job: dict, data: bytes) -> JSONResponse:
        call.authorize(f"projects/{project}", "bigquery.jobs.create")
        config = job["configuration"]["load"]
        ref = config["destinationTable"]
        dataset = self.dataset_of(ref["projectId"], ref["datasetId"])
        call.authorize(
            f"projects/{ref['projectId']}/datasets/{ref['datasetId']}", "bigquery.tables.updateData"
        )
        if dataset.kms_key:
            self.cmek(call.entry, dataset)
        fields = (config.get("schema") or {}).get("fields", [])
        if config.get("sourceUris"):
            data = b"".join(self.from_storage(call, uri) for uri in config["sourceUris"])
        if config.get("sourceFormat") == "NEWLINE_DELIMITED_JSON":
            rows = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
            frame = pd.DataFrame(rows, columns=[f["name"] for f in fields])
        elif config.get("quote") == "":
            frame = unquoted_csv(data, config, [f["name"] for f in fields])
        else:
            frame = pd.read_csv(io.BytesIO(data), names=[f["name"] for f in fields] or None)
        columns = (
            ", ".join(
                f'CAST("{f["name"]}" AS {_TYPES.get(f["type"], "VARCHAR")}) AS "{f["name"]}"'
                for f in fields
            )
            or "*"
        )
        name = f'"{ref["projectId"]}.{ref["datasetId"]}.{ref["tableId"]}"'
        with self.lock:
            self.database.register("incoming", frame)
            create = f"CREATE OR REPLACE TABLE {name} AS SELECT {columns} FROM incoming"  # noqa: S608
            self.database.execute(create)
            self.database.unregister("incoming")
        job_id = job.get("jobReference", {}).get("jobId") or uuid.uuid4().hex
        body = self.job_json(project, job_id, job["configuration"], dataset.location)
        self.jobs[job_id], self.creators[job_id] = body, call.principal
        return JSONResponse(body)

    # Tables a Google service reads or writes for a job (Vertex AI's AutoML and batch
    # prediction), as its own identity: logged as calls of that identity, checked the same.

    def read_table(self, principal: str, project: str, dataset: str, table: str) -> pd.DataFrame:
        entry = self.sim.log_call(principal, "GET", "bigquery.tabledata.list")
        try:
            self.dataset_of(project, dataset)
            self.sim.check(
                entry,
                principal,
                "bigquery.tables.getData",
                f"projects/{project}/datasets/{dataset}",
            )
            with self.lock:
                frame = self.database.execute(
                    f'SELECT * FROM "{project}.{dataset}.{table}"'  # noqa: S608
                ).fetch_df()
        except duckdb.Error:
            entry.status = 404
            raise ApiError(404, f"Not found: Table {project}:{dataset}.{table}") from None
        except ApiError as exc:
            entry.status = exc.status
            raise
        entry.status = 200
        return frame

    def write_table(
        self, principal: str, project: str, dataset: str, table: str, frame: pd.DataFrame
    ) -> None:
        """A new table; a CMEK dataset's key must be usable by BigQuery's agent."""
        entry = self.sim.log_call(principal, "POST", "bigquery.tables.insert")
        try:
            found = self.dataset_of(project, dataset)
            where = f"projects/{project}/datasets/{dataset}"
            self.sim.check(entry, principal, "bigquery.tables.create", where)
            self.sim.check(entry, principal, "bigquery.tables.updateData", where)
            if found.kms_key:
                self.cmek(entry, found)
            with self.lock:
                self.database.register("incoming", frame)
                name = f'"{project}.{dataset}.{table}"'
                self.database.execute(f"CREATE TABLE {name} AS SELECT * FROM incoming")  # noqa: S608
                self.database.unregister("incoming")
        except ApiError as exc:
            entry.status = exc.status
            raise
        entry.status = 200

    def cmek(self, entry, dataset) -> None:
        agent = self.sim.world.agent("bigquery.googleapis.com", dataset.project)
        allowed = self.sim.allowed(agent, ENCRYPT, dataset.kms_key)
        entry.checks.append(Check(f"{ENCRYPT} (as {agent})", dataset.kms_key, allowed, "key"))
        if not allowed:
            raise ApiError(
                400,
                f"The BigQuery service account {agent} does not have permission to "
                f"encrypt with {dataset.kms_key}.",
            )

    def from_storage(self, call, uri: str) -> bytes:
        """A load job's source, read as the job's caller (BigQuery reads Cloud Storage so)."""
        if not uri.startswith("gs://") or "/" not in uri[5:] or "*" in uri:
            raise ApiError(400, f"the simulation loads single gs:// objects, not {uri}")
        bucket, name = uri[5:].split("/", 1)
        assert self.sim.read_object is not None
        return self.sim.read_object(call, bucket, name)

    @route("POST", r"/upload" + P + r"/jobs", "bigquery.jobs.insert")
    def upload(self, call, project):
        kind = call.query.get("uploadType")
        if kind == "multipart":
            job, data = multipart(call.request.headers["content-type"], call.body)
            return self.load(call, project, job, data)
        if kind == "resumable":
            url = f"{self.sim.url}/bigquery/upload/bigquery/v2/projects/{project}/jobs"
            return self.resumable.start(url, call.json())
        raise ApiError(400, f"unsupported uploadType {kind}")

    @route("PUT", r"/upload" + P + r"/jobs", "bigquery.jobs.insert")
    def upload_chunk(self, call, project):
        done = self.resumable.chunk(call)
        if isinstance(done, Response):
            return done
        job, data = done
        return self.load(call, project, job, data)

    def run_query(self, call, project: str, sql: str, job_id: str) -> None:
        refs = list(_TABLE.finditer(sql))
        for ref in refs:
            call.authorize(
                f"projects/{ref.group(1)}/datasets/{ref.group(2)}", "bigquery.tables.getData"
            )
        try:
            statement = sqlglot.parse_one(_TABLE.sub("sim_check", sql), read="bigquery")
            if isinstance(statement, sqlglot.exp.Export):
                self.export(call, sql, job_id)
                return
            translated, created = to_duckdb(sql)
        except sqlglot.errors.SqlglotError as exc:
            raise ApiError(400, f"Syntax error: {exc}") from None
        for ref in refs:
            if ref.group(0) in created:
                call.authorize(
                    f"projects/{ref.group(1)}/datasets/{ref.group(2)}", "bigquery.tables.create"
                )
        try:
            with self.lock:
                cursor = self.database.execute(translated)
                description = cursor.description or []
                rows = cursor.fetchall() if description else []
                names = [d[0] for d in description]
                kinds = [str(d[1]) for d in description]
        except duckdb.Error as exc:
            raise ApiError(400, f"Query error: {exc}") from None
        schema = [
            {"name": n, "type": _BQ_TYPES.get(k, "STRING")}
            for n, k in zip(names, kinds, strict=True)
        ]
        self.results[job_id] = (schema, [list(r) for r in rows])

    def export(self, call, sql: str, job_id: str) -> None:
        """EXPORT DATA ... AS SELECT: the result as CSV with a header, in one object where the
        uri's `*` is (BigQuery shards; one shard here), written as the caller; NULL as ''."""
        statement = sqlglot.parse_one(sql, read="bigquery")
        options = {
            (p.this.name if isinstance(p, sqlglot.exp.Property) else "format"): (
                p.args.get("value") or p.this
            ).name
            for p in statement.args["options"].expressions
        }
        uri = options.get("uri", "")
        if options.get("format", "CSV").upper() != "CSV" or not uri.startswith("gs://"):
            raise ApiError(400, f"the simulation exports CSV to gs:// only, not {options}")
        if uri.count("*") != 1:
            raise ApiError(400, f"EXPORT DATA needs one '*' wildcard in uri, got {uri}")
        select, _ = to_duckdb(statement.this.sql(dialect="bigquery"))
        with self.lock:
            frame = self.database.execute(select).fetch_df()
        text = frame.to_csv(index=False, header=options.get("header") == "true", na_rep="")
        bucket, name = uri[5:].split("/", 1)
        assert self.sim.write_object is not None
        self.sim.write_object(call, bucket, name.replace("*", "000000000000"), text.encode())
        self.results[job_id] = ([], [])

    @route("POST", P + r"/jobs", "bigquery.jobs.insert")
    def insert(self, call, project):
        call.authorize(f"projects/{project}", "bigquery.jobs.create")
        job = call.json()
        if "load" in job.get("configuration", {}):
            return self.load(call, project, job, b"")  # a load from gs:// sources
        query = job.get("configuration", {}).get("query")
        if not query:
            raise ApiError(400, "only query and gs:// load jobs may be inserted without an upload")
        job_id = job.get("jobReference", {}).get("jobId") or uuid.uuid4().hex
        self.run_query(call, project, query["query"], job_id)
        location = job.get("jobReference", {}).get("location") or "europe-west4"
        self.jobs[job_id] = self.job_json(project, job_id, job["configuration"], location)
        self.creators[job_id] = call.principal
        return JSONResponse(self.jobs[job_id])

    @route("GET", P + r"/jobs/(?P<job>[^/]+)", "bigquery.jobs.get")
    def get_job(self, call, project, job):
        if self.creators.get(job) != call.principal:
            call.authorize(f"projects/{project}")
        if job not in self.jobs:
            raise ApiError(404, f"Not found: Job {project}:{job}")
        return JSONResponse(self.jobs[job])

    @route("GET", P + r"/queries/(?P<job>[^/]+)", "bigquery.jobs.getQueryResults")
    def query_results(self, call, project, job):
        if self.creators.get(job) != call.principal:
            call.authorize(f"projects/{project}", "bigquery.jobs.get")
        if job not in self.results:
            raise ApiError(404, f"Not found: Job {project}:{job}")
        schema, rows = self.results[job]
        start = int(call.query.get("startIndex", 0))
        page = int(call.query.get("maxResults", 100_000))
        chunk = rows[start : start + page]
        body = {
            "kind": "bigquery#getQueryResultsResponse",
            "jobReference": {"projectId": project, "jobId": job},
            "jobComplete": True,
            "schema": {"fields": schema},
            "totalRows": str(len(rows)),
            "rows": [{"f": [{"v": None if v is None else str(v)} for v in r]} for r in chunk],
        }
        if start + page < len(rows):
            body["pageToken"] = str(start + page)
        return JSONResponse(body)


def install(sim: Any) -> None:
    sim.bigquery = BigQuery(sim)  # other services read and write tables through it
    register(sim, "bigquery", sim.bigquery)
