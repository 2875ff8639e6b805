"""Cloud Scheduler: delivering a job with an HTTP target and an OAuth identity.

When a job is due (`Simulation.fire_job`, the simulation's clock tick) or a person forces it
(jobs.run, `cloudscheduler.jobs.run`), Cloud Scheduler's service agent mints an access token
for the job's service account (it may: roles/cloudscheduler.serviceAgent, which Google gives
it) and sends the job's request to its target, a Google API this simulation serves, with
that token: the target then checks the service account's own rights, as Google does.
Not modelled: the cron itself (a test says when a job is due), retries, Pub/Sub targets.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.responses import JSONResponse

from simulation.apis.routing import register, route
from simulation.wire import ApiError

P = r"/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
MINT = "iam.serviceAccounts.getAccessToken"  # what the agent needs on the identity


def deliver(sim: Any, name: str) -> httpx.Response:
    """The job's request, sent as its OAuth identity (a token the Scheduler agent minted)."""
    job = sim.world.scheduler_jobs[name]
    project = name.split("/")[1]
    agent = sim.world.agent("cloudscheduler.googleapis.com", project)
    entry = sim.log_call(
        agent, "POST", "iamcredentials.projects.serviceAccounts.generateAccessToken"
    )
    account = job.oauth_service_account
    if account:
        try:
            sim.check(entry, agent, MINT, sim.world.account_resource(account, project))
        except ApiError as exc:
            entry.status = exc.status
            raise
    entry.status = 200
    parts = urlsplit(job.uri)
    service = parts.netloc.split(".")[0]  # cloudbuild.googleapis.com → cloudbuild
    url = f"{sim.url}/{service}{parts.path}"
    headers = {"Content-Type": "application/json"}
    if account:
        headers["Authorization"] = f"Bearer {sim.tokens.issue(account)}"
    return httpx.request(job.method, url, content=job.body, headers=headers, timeout=60)


class CloudScheduler:
    def __init__(self, sim: Any) -> None:
        self.sim = sim

    @route("POST", P + r"/jobs/(?P<job>[^/:]+):run", "cloudscheduler.projects.locations.jobs.run")
    def run(self, call: Any, project: str, location: str, job: str) -> JSONResponse:
        pid = self.sim.world.project_id(project)
        name = f"projects/{pid}/locations/{location}/jobs/{job}"
        if name not in self.sim.world.scheduler_jobs:
            raise ApiError(404, f"Job {name} not found.")
        call.authorize(name)  # cloudscheduler.jobs.run
        # Delivered from another thread: this server answers the target's request too.
        threading.Thread(target=deliver, args=(self.sim, name), daemon=True).start()
        return JSONResponse({"name": name, "state": "ENABLED"})


def install(sim: Any) -> None:
    register(sim, "cloudscheduler", CloudScheduler(sim))
