"""The simulated cloud's state, seeded from the synthesized stacks (envs/*/cdktf.out).

Pure data. `World.from_stacks` reads each stack's Terraform JSON as Google would see it after
an apply: projects, service accounts, service agents (with the project roles Google gives
them), keys, buckets, datasets, repositories, the endpoint, custom roles and every IAM
binding, project-, resource- and service-account-level. Nothing is described twice: change a
grant in infra/iam.py, synthesize, and the simulation enforces the new grant.
"""

from __future__ import annotations

import base64
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from settings import (
    AGENT_DATA_SOURCE_APIS,
    AGENT_EMAIL_BY_API,
    BOOTSTRAP_AGENT_APIS,
    logging_writer_email,
)
from simulation.iam import Binding

# Google's naming of service agents (what google_project_service_identity and the storage
# and BigQuery data sources return), and the role Google grants each on its project.
AGENT_ROLES = {
    "aiplatform.googleapis.com": "roles/aiplatform.serviceAgent",
    "artifactregistry.googleapis.com": "roles/artifactregistry.serviceAgent",
    "pubsub.googleapis.com": "roles/pubsub.serviceAgent",
    "cloudfunctions.googleapis.com": "roles/cloudfunctions.serviceAgent",
    "run.googleapis.com": "roles/run.serviceAgent",
    "eventarc.googleapis.com": "roles/eventarc.serviceAgent",
}

# What a new project has on before anyone enables anything (cloud.google.com/service-usage/
# docs/enabled-service#default), plus what the bootstrap turns on (docs/infra.md).
DEFAULT_APIS = ("bigquery", "logging", "monitoring", "storage", "serviceusage",
                "servicemanagement", "cloudresourcemanager")  # fmt: skip
# A bucket's policy starts with Cloud Storage's convenience bindings: the project's basic
# roles reach its buckets through them (cloud.google.com/storage/docs/access-control/iam).
CONVENIENCE = (("roles/storage.legacyBucketOwner", "projectOwner"),
               ("roles/storage.legacyBucketOwner", "projectEditor"),
               ("roles/storage.legacyBucketReader", "projectViewer"),
               ("roles/storage.legacyObjectOwner", "projectOwner"),
               ("roles/storage.legacyObjectOwner", "projectEditor"),
               ("roles/storage.legacyObjectReader", "projectViewer"))  # fmt: skip

# Google's agents this simulation runs as, beside the CMEK key users (settings.agents): the
# Cloud Scheduler agent mints the tokens of an HTTP job's OAuth identity.
SCHEDULER_API = "cloudscheduler.googleapis.com"
SCHEDULER_AGENT = "service-{n}@gcp-sa-cloudscheduler.iam.gserviceaccount.com"
AGENT_ROLES[SCHEDULER_API] = "roles/cloudscheduler.serviceAgent"

_REF = re.compile(r"\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}")


@dataclass
class CryptoKey:
    name: str  # projects/p/locations/l/keyRings/r/cryptoKeys/k
    state: str = "ENABLED"  # of the primary version

    @property
    def location(self) -> str:
        return self.name.split("/")[3]

    @property
    def project(self) -> str:
        return self.name.split("/")[1]


@dataclass
class Bucket:
    name: str
    project: str
    location: str
    kms_key: str | None


@dataclass
class Dataset:
    project: str
    dataset_id: str
    location: str
    kms_key: str | None


@dataclass
class BuildTrigger:
    """A Cloud Build trigger as the stacks define it."""

    project: str
    name: str  # census-canary
    trigger_id: str
    config: str  # the build config's path in the repository
    service_account: str  # the email the build runs as
    substitutions: dict[str, str] = field(default_factory=dict)
    approval: bool = False
    topic: str = ""  # a Pub/Sub trigger's topic (projects/P/topics/T): each message builds


@dataclass
class SchedulerJob:
    """A Cloud Scheduler job with an HTTP target (what the simulation delivers)."""

    name: str  # projects/p/locations/r/jobs/j
    schedule: str
    uri: str
    method: str
    body: bytes
    oauth_service_account: str | None


@dataclass
class LogSink:
    """A Cloud Logging sink: entries of its project matching its filter go to its destination,
    written as its writer identity (the project's Logging agent)."""

    project: str
    name: str
    filter: str
    destination: str  # pubsub.googleapis.com/projects/P/topics/T
    writer: str


@dataclass
class Function:
    """A Cloud Run function with a Pub/Sub event trigger (what the simulation invokes)."""

    project: str
    name: str
    region: str
    topic: str  # projects/P/topics/T
    service_account: str  # its runtime identity
    trigger_service_account: str  # Eventarc's: must be allowed to invoke the function
    environment: dict[str, str] = field(default_factory=dict)
    timeout_seconds: int = 60


@dataclass
class World:
    projects: dict[str, str] = field(default_factory=dict)  # project id → number
    regions: dict[str, str] = field(default_factory=dict)  # project id → default region
    accounts: dict[str, str] = field(default_factory=dict)  # service account → project
    agents: dict[str, str] = field(default_factory=dict)  # service agent → project
    key_rings: set[str] = field(default_factory=set)
    keys: dict[str, CryptoKey] = field(default_factory=dict)
    buckets: dict[str, Bucket] = field(default_factory=dict)
    datasets: dict[str, Dataset] = field(default_factory=dict)  # "project.dataset"
    repositories: set[str] = field(default_factory=set)
    immutable_tags: set[str] = field(default_factory=set)  # repositories whose tags never move
    endpoints: dict[str, str | None] = field(default_factory=dict)  # name → CMEK key
    metadata_stores: dict[str, str | None] = field(default_factory=dict)  # name → CMEK key
    custom_roles: dict[str, frozenset[str]] = field(default_factory=dict)
    bindings: list[Binding] = field(default_factory=list)
    triggers: dict[str, BuildTrigger] = field(default_factory=dict)  # by trigger id
    scheduler_jobs: dict[str, SchedulerJob] = field(default_factory=dict)  # by full name
    topics: dict[str, str | None] = field(default_factory=dict)  # projects/P/topics/T → CMEK
    sinks: list[LogSink] = field(default_factory=list)
    functions: dict[str, Function] = field(default_factory=dict)  # by name
    apis: set[str] = field(default_factory=set)  # "project/service.googleapis.com" enabled

    # Resource hierarchy -----------------------------------------------------------------

    def project_id(self, project: str) -> str:
        """A project id, given an id or a number."""
        for pid, number in self.projects.items():
            if project in (pid, number):
                return pid
        raise KeyError(f"no project {project!r}")

    def chain(self, resource: str) -> list[str]:
        """`resource` and its ancestors up to its project, for an IAM check."""
        parts = resource.split("/")
        if resource.startswith("projects/_/buckets/"):
            bucket = self.buckets.get(parts[3])
            chain = [f"projects/_/buckets/{parts[3]}"]
            if len(parts) > 4:
                chain.insert(0, resource)
            return chain + ([f"projects/{bucket.project}"] if bucket else [])
        chain = [resource]
        if "/cryptoKeys/" in resource:
            chain.append(resource.split("/cryptoKeys/")[0])
        project = f"projects/{self.project_id(parts[1])}"
        return [*chain, project] if resource != project else chain

    def is_identity(self, email: str) -> bool:
        return email in self.accounts or email in self.agents

    def project_of_identity(self, email: str) -> str:
        project = self.accounts.get(email) or self.agents.get(email)
        if project is None:
            raise KeyError(f"no service account or agent {email!r} in the simulated cloud")
        return project

    def storage_agent(self, project: str) -> str:
        return AGENT_EMAIL_BY_API["storage.googleapis.com"].format(n=self.projects[project])

    def agent(self, service: str, project: str) -> str:
        if service == SCHEDULER_API:
            return SCHEDULER_AGENT.format(n=self.projects[project])
        return AGENT_EMAIL_BY_API[service].format(n=self.projects[project])

    def account_resource(self, email: str, project: str) -> str:
        """A service account as an IAM resource, in the project that holds it (`project`
        when this cloud does not know it: the check then fails as Google's would)."""
        return f"projects/{self.accounts.get(email, project)}/serviceAccounts/{email}"

    def _kinds(self) -> dict[str, Any]:
        """Each kind of thing (graph.named's kinds, and what only provenance needs) → where
        it is held, by name."""
        return {
            "identity": [*self.accounts, *self.agents], "key": self.keys,
            "key ring": self.key_rings, "role": self.custom_roles, "bucket": self.buckets,
            "dataset": [d.dataset_id for d in self.datasets.values()],
            "repository": [r.rsplit("/", 1)[-1] for r in self.repositories],
            "function": self.functions, "api": self.apis, "topic": self.topics,
            "trigger": self.triggers, "scheduler job": self.scheduler_jobs,
            "endpoint": self.endpoints, "metadata store": self.metadata_stores,
            "sink": [f"{k.project}/{k.name}" for k in self.sinks],
        }  # fmt: skip

    def inventory(self) -> set[tuple[str, str]]:
        """Everything that exists, as (kind, name)."""
        return {(kind, name) for kind, names in self._kinds().items() for name in names}

    def forget(self, thing: Any) -> None:
        """A deleted resource's thing: a Binding, or (kind, name) from inventory()."""
        if isinstance(thing, Binding):
            if thing in self.bindings:
                self.bindings.remove(thing)
            return
        kind, name = thing
        if kind == "identity":
            self.accounts.pop(name, None)
            self.agents.pop(name, None)
        elif kind == "dataset":
            self.datasets = {k: d for k, d in self.datasets.items() if d.dataset_id != name}
        elif kind == "repository":
            self.repositories = {r for r in self.repositories if r.rsplit("/", 1)[-1] != name}
        elif kind == "sink":
            self.sinks = [k for k in self.sinks if f"{k.project}/{k.name}" != name]
        else:
            held = self._kinds()[kind]
            if isinstance(held, dict):
                held.pop(name, None)
            else:
                held.discard(name)

    def has(self, kind: str, name: str) -> bool:
        """Whether a resource a body names (graph.named's kinds) exists."""
        return name in self._kinds()[kind]

    def trigger(self, project: str, trigger: str) -> BuildTrigger | None:
        """A trigger of `project` by its id or its name, as triggers.run accepts either."""
        found = self.triggers.get(trigger)
        if found is None:
            found = next(
                (t for t in self.triggers.values() if t.name == trigger and t.project == project),
                None,
            )
        return found if found is not None and found.project == project else None

    # Seeding ----------------------------------------------------------------------------

    def _seed_automation(self, each: Any, agent: Any, ids: dict, project: str) -> None:
        """Cloud Build triggers, Cloud Scheduler jobs (HTTP targets), and the Scheduler agent
        where its API is on."""
        apis = {body["service"] for _, body in each("google_project_service")}
        if SCHEDULER_API in apis:
            agent(SCHEDULER_API)
        for name, body in each("google_cloudbuild_trigger"):
            p = body.get("project", project)
            tid = trigger_id(p, body["name"])
            ids[("google_cloudbuild_trigger", name)] = {
                "trigger_id": tid,
                "id": f"projects/{p}/locations/global/triggers/{tid}",
            }
            config = body.get("filename") or body.get("git_file_source", {}).get("path", "")
            self.triggers[tid] = BuildTrigger(
                p,
                body["name"],
                tid,
                config,
                body["service_account"].rsplit("/", 1)[-1],
                dict(body.get("substitutions") or {}),
                bool((body.get("approval_config") or {}).get("approval_required")),
                (body.get("pubsub_config") or {}).get("topic", ""),
            )
        for _, body in each("google_cloud_scheduler_job"):
            target = body.get("http_target")
            if not target:
                continue  # a Pub/Sub job: the simulation publishes nothing
            p, region = body.get("project", project), body.get("region", "")
            name = f"projects/{p}/locations/{region}/jobs/{body['name']}"
            self.scheduler_jobs[name] = SchedulerJob(
                name,
                body["schedule"],
                target["uri"],
                target.get("http_method", "POST"),
                base64.b64decode(target.get("body", "")),
                (target.get("oauth_token") or {}).get("service_account_email"),
            )

    def _seed_events(self, each: Any, ids: dict, project: str, region: str) -> None:
        """Pub/Sub topics, log sinks (writing as the project's Logging agent) and the
        functions their events reach."""
        for name, body in each("google_pubsub_topic"):
            topic = f"projects/{body.get('project', project)}/topics/{body['name']}"
            self.topics[topic] = body.get("kms_key_name")
            ids[("google_pubsub_topic", name)] = {"id": topic, "name": body["name"]}
        for _, body in each("google_logging_project_sink"):
            p = body.get("project", project)
            writer = logging_writer_email(self.projects[p])
            self.agents[writer] = p
            self.sinks.append(
                LogSink(p, body["name"], body.get("filter", ""), body["destination"], writer)
            )
        for _, body in each("google_cloudfunctions2_function"):
            trigger = body.get("event_trigger") or {}
            if not trigger.get("pubsub_topic"):
                continue
            service = body.get("service_config") or {}
            self.functions[body["name"]] = Function(
                body.get("project", project),
                body["name"],
                body.get("location", region),
                trigger["pubsub_topic"],
                service.get("service_account_email", ""),
                trigger.get("service_account_email", ""),
                dict(service.get("environment_variables") or {}),
                int(service.get("timeout_seconds", 60)),
            )

    @classmethod
    def from_stacks(cls, stacks: dict[str, dict]) -> World:
        world = cls.empty(stacks)
        for stack in stacks.values():
            world._seed(stack)
        return world

    @classmethod
    def empty(cls, stacks: dict[str, dict], owner: str | None = None) -> World:
        """The stacks' projects as the organisation hands them over: created, bootstrapped
        (docs/infra.md), `owner` (a person) holding roles/owner, nothing else in them."""
        world = cls()
        for stack in stacks.values():
            if "project_number" not in stack.get("output", {}):
                continue  # a cross-tenant stack: grants only, in a tenant's project
            google = stack["provider"]["google"][0]
            project, region = google["project"], google["region"]
            world.projects[project] = stack["output"]["project_number"]["value"]
            world.regions[project] = region
            for api in BOOTSTRAP_AGENT_APIS:  # what the bootstrap asked for (docs/infra.md)
                world.agents[world.agent(api, project)] = project
            world.apis |= {f"{project}/{api}.googleapis.com" for api in DEFAULT_APIS}
            state = (stack.get("terraform") or {}).get("backend", {}).get("gcs")
            if state:  # the bootstrap's state bucket (docs/infra.md), Google-managed key
                world.buckets[state["bucket"]] = Bucket(state["bucket"], project, region, None)
            if owner:
                world.bindings.append(
                    Binding(f"projects/{project}", "roles/owner", f"user:{owner}")
                )
        return world

    def add(self, stack: dict) -> None:
        """What applying `stack` (or one resource of it, bodies resolved) makes."""
        self._seed(stack)

    def _seed(self, stack: dict) -> None:
        google = stack["provider"]["google"][0]
        project, region = google["project"], google["region"]
        ids: dict[tuple[str, str], dict[str, str]] = {}
        resources = stack.get("resource", {})

        def each(rtype: str):
            for name, body in resources.get(rtype, {}).items():
                yield name, {k: _resolve(v, ids) for k, v in body.items()}

        def agent(service: str, in_project: str = project) -> str:
            email = self.agent(service, in_project)
            self.agents[email] = in_project
            if service in AGENT_ROLES:
                self.bindings.append(
                    Binding(
                        f"projects/{in_project}", AGENT_ROLES[service], f"serviceAccount:{email}"
                    )
                )
            return email

        for name, body in each("google_service_account"):
            email = f"{body['account_id']}@{body.get('project', project)}.iam.gserviceaccount.com"
            self.accounts[email] = body.get("project", project)
            ids[("google_service_account", name)] = {"email": email}
        for name, body in each("google_project_service_identity"):
            ids[("google_project_service_identity", name)] = {"email": agent(body["service"])}
        for rtype, service in AGENT_DATA_SOURCE_APIS.items():
            for name, body in stack.get("data", {}).get(rtype, {}).items():
                email = agent(service, body.get("project", project))
                ids[(f"data.{rtype}", name)] = {"email_address": email, "email": email}
        for name, body in each("google_kms_key_ring"):
            p, loc = body.get("project", project), body["location"]
            ring = f"projects/{p}/locations/{loc}/keyRings/{body['name']}"
            self.key_rings.add(ring)
            ids[("google_kms_key_ring", name)] = {"id": ring}
        for name, body in each("google_kms_crypto_key"):
            key = f"{body['key_ring']}/cryptoKeys/{body['name']}"
            self.keys[key] = CryptoKey(key)
            ids[("google_kms_crypto_key", name)] = {"id": key}
        for _, body in each("google_project_service"):
            self.apis.add(f"{body.get('project', project)}/{body['service']}")
        for _, body in each("google_storage_bucket"):
            kms = (body.get("encryption") or {}).get("default_kms_key_name")
            p = body.get("project", project)
            self.buckets[body["name"]] = Bucket(body["name"], p, body["location"].lower(), kms)
            for role, basic in CONVENIENCE:
                self.bindings.append(Binding(f"projects/_/buckets/{body['name']}", role,
                                             f"{basic}:{p}"))  # fmt: skip
        for _, body in each("google_bigquery_dataset"):
            p = body.get("project", project)
            kms = (body.get("default_encryption_configuration") or {}).get("kms_key_name")
            self.datasets[f"{p}.{body['dataset_id']}"] = Dataset(
                p, body["dataset_id"], body["location"], kms
            )
        for _, body in each("google_artifact_registry_repository"):
            p = body.get("project", project)
            name = f"projects/{p}/locations/{body['location']}/repositories/{body['repository_id']}"
            self.repositories.add(name)
            if (body.get("docker_config") or {}).get("immutable_tags"):
                self.immutable_tags.add(name)
        for _, body in each("google_vertex_ai_metadata_store"):
            p = body.get("project", project)
            name = f"projects/{p}/locations/{body['region']}/metadataStores/{body['name']}"
            self.metadata_stores[name] = (body.get("encryption_spec") or {}).get("kms_key_name")
        for _, body in each("google_vertex_ai_endpoint"):
            p = body.get("project", project)
            name = f"projects/{p}/locations/{body['location']}/endpoints/{body['name']}"
            self.endpoints[name] = (body.get("encryption_spec") or {}).get("kms_key_name")
        for _, body in each("google_project_iam_custom_role"):
            p = body.get("project", project)
            self.custom_roles[f"projects/{p}/roles/{body['role_id']}"] = frozenset(
                body["permissions"]
            )
        self._seed_automation(each, agent, ids, project)
        self._seed_events(each, ids, project, region)
        for rtype, where in _IAM_MEMBERS.items():
            for _, body in each(rtype):
                self.bindings.append(
                    Binding(where(body, project, region), body["role"], body["member"])
                )


def trigger_id(project: str, name: str) -> str:
    """What Cloud Build gives a trigger: a UUID (here derived from its name: stable)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{project}/{name}"))


def _resolve(value, ids: dict[tuple[str, str], dict[str, str]]):
    """Terraform references (${type.name.attribute}) to the values an apply would give."""
    if isinstance(value, str):

        def sub(m: re.Match) -> str:
            return ids.get((m.group(1), m.group(2)), {}).get(m.group(3), m.group(0))

        return _REF.sub(sub, value)
    if isinstance(value, dict):
        return {k: _resolve(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, ids) for v in value]
    return value


_IAM_MEMBERS = {
    "google_project_iam_member": lambda b, p, r: f"projects/{b['project']}",
    "google_storage_bucket_iam_member": lambda b, p, r: f"projects/_/buckets/{b['bucket']}",
    "google_bigquery_dataset_iam_member": (
        lambda b, p, r: f"projects/{b.get('project', p)}/datasets/{b['dataset_id']}"
    ),
    "google_artifact_registry_repository_iam_member": (
        lambda b, p, r: (
            f"projects/{b.get('project', p)}/locations/{b.get('location', r)}"
            f"/repositories/{b['repository']}"
        )
    ),
    "google_service_account_iam_member": lambda b, p, r: b["service_account_id"],
    "google_kms_crypto_key_iam_member": lambda b, p, r: b["crypto_key_id"],
    "google_kms_key_ring_iam_member": lambda b, p, r: b["key_ring_id"],
    "google_pubsub_topic_iam_member": (
        lambda b, p, r: f"projects/{b.get('project', p)}/topics/{b['topic']}"
    ),
    "google_cloud_run_service_iam_member": (
        lambda b, p, r: (
            f"projects/{b.get('project', p)}/locations/{b.get('location', r)}"
            f"/services/{b['service']}"
        )
    ),
}
