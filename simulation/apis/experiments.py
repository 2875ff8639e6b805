"""Vertex ML Metadata's contexts (what Vertex AI Experiments stores runs in), in the metadata
stores the stacks create: create, get, patch, list with a filter, and parent-child links.

A store that the stacks did not create answers 404, as Vertex does; every call checks the
caller's permission on the project (Vertex AI has no IAM below it). The filter understands
what Experiments uses: `schema_title="..."` and `parent_contexts:"..."`, joined by AND.
"""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.responses import JSONResponse

from simulation.apis.routing import register, route
from simulation.wire import ApiError

STORE = (
    r"/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
    r"/metadataStores/(?P<store>[^/:]+)"
)
CONTEXT = STORE + r"/contexts/(?P<context>[^/:]+)"
M = "aiplatform.projects.locations.metadataStores.contexts"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")
_TERM = re.compile(r'^\s*(schema_title\s*=|parent_contexts\s*:)\s*"([^"]*)"\s*$')


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


class Experiments:
    """The ML Metadata contexts of every metadata store (sim.vertex.contexts)."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.contexts: dict[str, dict] = self.sim.vertex.contexts

        self.sim.pipeline_run_context = self.pipeline_run_context

    def store_of(self, call, project: str, location: str, store: str) -> str:
        try:
            pid = self.sim.world.project_id(project)
        except KeyError:
            raise ApiError(403, f"Permission denied on project {project}.") from None
        call.authorize(f"projects/{pid}")
        name = f"projects/{pid}/locations/{location}/metadataStores/{store}"
        if name not in self.sim.world.metadata_stores:
            raise ApiError(404, f"MetadataStore {name} not found.")
        return name

    def context_of(self, name: str) -> dict:
        if name not in self.contexts:
            raise ApiError(404, f"Context {name} not found.")
        return self.contexts[name]

    @route("POST", STORE + "/contexts", f"{M}.create")
    def create(self, call, project, location, store):
        parent = self.store_of(call, project, location, store)
        context_id = call.query.get("contextId") or str(len(self.contexts) + 1)
        if not _ID.match(context_id):
            raise ApiError(400, f"Invalid context id {context_id!r}.")
        name = f"{parent}/contexts/{context_id}"
        if name in self.contexts:
            raise ApiError(409, f"Context {name} already exists.")
        body = call.json()
        self.contexts[name] = {
            **body,
            "name": name,
            "metadata": body.get("metadata") or {},
            "parentContexts": [],
            "createTime": _now(),
            "updateTime": _now(),
            "etag": "1",
        }
        return JSONResponse(self.contexts[name])

    @route("GET", CONTEXT, f"{M}.get")
    def get(self, call, project, location, store, context):
        parent = self.store_of(call, project, location, store)
        return JSONResponse(self.context_of(f"{parent}/contexts/{context}"))

    @route("PATCH", CONTEXT, f"{M}.patch")
    def patch(self, call, project, location, store, context):
        parent = self.store_of(call, project, location, store)
        found = self.context_of(f"{parent}/contexts/{context}")
        body = call.json()
        mask = [p for p in (call.query.get("updateMask") or "").split(",") if p]
        for field in mask or [k for k in body if k != "name"]:
            if field not in ("metadata", "displayName", "display_name", "labels", "description"):
                raise ApiError(400, f"Field {field} cannot be updated.")
            key = "displayName" if field == "display_name" else field
            found[key] = body.get(key)
        found["updateTime"] = _now()
        found["etag"] = str(int(found["etag"]) + 1)
        return JSONResponse(found)

    @route("GET", STORE + "/contexts", f"{M}.list")
    def list_(self, call, project, location, store):
        parent = self.store_of(call, project, location, store)
        terms = []
        for term in filter(None, (call.query.get("filter") or "").split(" AND ")):
            m = _TERM.match(term)
            if m is None:
                raise ApiError(400, f"Unsupported filter term {term!r} (the simulation's subset).")
            terms.append((m.group(1).rstrip("=: ").strip(), m.group(2)))
        found = [
            c
            for name, c in self.contexts.items()
            if name.startswith(parent + "/")
            and all(
                c.get("schemaTitle") == value
                if kind == "schema_title"
                else value in c["parentContexts"]
                for kind, value in terms
            )
        ]
        return JSONResponse({"contexts": found})

    @route("POST", CONTEXT + ":addContextChildren", f"{M}.addContextChildren")
    def add_children(self, call, project, location, store, context):
        parent = self.store_of(call, project, location, store)
        name = f"{parent}/contexts/{context}"
        self.context_of(name)
        children = call.json().get("childContexts") or []
        for child in children:
            if name in self.context_of(child)["parentContexts"]:
                continue
            self.context_of(child)["parentContexts"].append(name)
        return JSONResponse({})

    def pipeline_run_context(self, job: dict) -> None:
        """Vertex gives every pipeline job a system.PipelineRun context named after it."""
        project_location = job["name"].split("/pipelineJobs/")[0]
        name = f"{project_location}/metadataStores/default/contexts/{job['name'].split('/')[-1]}"
        self.contexts[name] = {
            "name": name,
            "displayName": job["name"].split("/")[-1],
            "schemaTitle": "system.PipelineRun",
            "metadata": {},
            "parentContexts": [],
            "createTime": _now(),
            "updateTime": _now(),
            "etag": "1",
        }


def install(sim: Any) -> None:
    register(sim, "aiplatform", Experiments(sim))
