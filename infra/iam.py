"""The IAM model as data: every grant each env's stack makes, computed from settings alone.

Pure: the stack turns each Grant into one `*_iam_member` resource, the tests compare the
synthesized JSON with these and with the tables in docs/infra.md, and the preflight uses
the same service-agent names. Members are concrete emails (all derivable from settings),
so the JSON reads like the table and cross-project members need no remote state.
"""

from __future__ import annotations

from dataclasses import dataclass

from settings import AGENT_NAMES, ENCRYPTER_DECRYPTER, Platform, Settings, logging_writer_email
from settings.model import Identity


@dataclass(frozen=True, order=True)
class Grant:
    """One IAM member binding. `kind` is the resource type the binding sits on."""

    project: str
    kind: str  # project | bucket | dataset | repository | service_account | key | key_ring
    # | run_service | topic
    resource: str  # bucket name, dataset id, repository id, SA email, key id, or project id
    role: str
    member: str

    @property
    def member_email(self) -> str:
        return self.member.split(":", 1)[1]


@dataclass(frozen=True)
class CustomRole:
    """A project-level custom role: exactly the permissions a job needs, no predefined role has."""

    role_id: str
    title: str
    description: str
    permissions: tuple[str, ...]

    def name(self, project: str) -> str:
        return f"projects/{project}/roles/{self.role_id}"


# `mlops doctor` reads each CMEK key and its IAM policy: roles/cloudkms.viewer has no
# cloudkms.cryptoKeys.getIamPolicy, and every predefined role that has it is far broader
# (cloudkms.admin, iam.securityReviewer, viewer).
PREFLIGHT_ROLE = CustomRole(
    "censusPreflight",
    "census preflight",
    "Reads the CMEK keys, their IAM policies and the run's buckets for the preflight.",
    ("cloudkms.cryptoKeys.get", "cloudkms.cryptoKeys.getIamPolicy", "storage.buckets.get"),
)

# The staging pipeline's way into prod: mint a prod identity's access tokens, nothing else
# (roles/iam.serviceAccountTokenCreator also signs blobs and JWTs and mints ID tokens).
TOKEN_MINTER_ROLE = CustomRole(
    "censusTokenMinter",
    "census token minter",
    "Mints access tokens of one prod identity for the staging pipeline (impersonation).",
    ("iam.serviceAccounts.getAccessToken",),
)


# What `terraform plan` reads to refresh this repository's resources, and nothing that writes
# (a policy rule holds every identity a pull request can start to read-only permissions).
PLANNER_ROLE = CustomRole(
    "censusPlanner",
    "census planner",
    "Reads the state and every resource the stacks manage, for terraform plan on pull requests.",
    (
        "resourcemanager.projects.get",
        "resourcemanager.projects.getIamPolicy",
        "serviceusage.services.get",
        "serviceusage.services.list",
        "iam.serviceAccounts.get",
        "iam.serviceAccounts.list",
        "iam.serviceAccounts.getIamPolicy",
        "iam.roles.get",
        "iam.roles.list",
        "cloudkms.keyRings.get",
        "cloudkms.keyRings.getIamPolicy",
        "cloudkms.cryptoKeys.get",
        "cloudkms.cryptoKeys.getIamPolicy",
        "storage.buckets.get",
        "storage.buckets.getIamPolicy",
        "bigquery.datasets.get",
        "bigquery.datasets.getIamPolicy",
        "artifactregistry.repositories.get",
        "artifactregistry.repositories.getIamPolicy",
        "aiplatform.metadataStores.get",
        "aiplatform.endpoints.get",
        "cloudbuild.builds.get",
        "cloudbuild.builds.list",
        "logging.sinks.get",
        "monitoring.alertPolicies.get",
        "monitoring.notificationChannels.get",
        "pubsub.topics.get",
        "pubsub.topics.getIamPolicy",
        "cloudscheduler.jobs.get",
        "cloudfunctions.functions.get",
        "cloudfunctions.functions.getIamPolicy",
        "run.services.get",
        "run.services.getIamPolicy",
    ),
)


# The retraining function creates pipeline jobs and reads them back, nothing else in Vertex AI.
SUBMITTER_ROLE = CustomRole(
    "censusSubmitter",
    "census pipeline submitter",
    "Creates promotion pipeline jobs (as the pipeline identity) and reads them back.",
    ("aiplatform.pipelineJobs.create", "aiplatform.pipelineJobs.get"),
)


# What the prod deployer does, and nothing more: register versions and move aliases, deploy,
# shift traffic, smoke-test and undeploy on the endpoint, delete a failed version, create and
# update the monitoring job, and read the endpoint's figures for the canary. Exactly the
# permissions the simulated deploy, monitoring and canary steps checked for it
# (tests/simulation/test_deployer_role.py). It replaces roles/aiplatform.user and
# roles/monitoring.viewer: 479 permissions, 261 of them writes (delete endpoints, start
# custom jobs as the project's code agent, ...).
DEPLOYER_ROLE = CustomRole(
    "censusDeployer",
    "census deployer",
    "Registers, deploys, canaries, rolls back and monitors census-income on the prod endpoint.",
    (
        "aiplatform.endpoints.deploy",
        "aiplatform.endpoints.get",
        "aiplatform.endpoints.predict",
        "aiplatform.endpoints.undeploy",
        "aiplatform.endpoints.update",
        "aiplatform.modelDeploymentMonitoringJobs.create",
        "aiplatform.modelDeploymentMonitoringJobs.get",
        "aiplatform.modelDeploymentMonitoringJobs.list",
        "aiplatform.modelDeploymentMonitoringJobs.update",
        "aiplatform.modelEvaluationSlices.import",
        "aiplatform.modelEvaluations.import",
        "aiplatform.modelEvaluations.list",
        "aiplatform.models.delete",
        "aiplatform.models.get",
        "aiplatform.models.list",
        "aiplatform.models.update",
        "aiplatform.models.upload",
        "monitoring.timeSeries.list",
    ),
)


# What the staging pipeline's decide step reads in prod, as the prod reader: the champion's
# version, by its alias (one get of model@champion); its artifacts come from the models
# bucket (objectViewer there).
READER_ROLE = CustomRole(
    "censusReader",
    "census registry reader",
    "Reads census-income's champion version in prod, for the decide step.",
    ("aiplatform.models.get",),
)


# What prod's scheduler needs to start the census-canary build (triggers.run checks
# cloudbuild.builds.create), as the deployer, whose build it is: no other Cloud Build right.
CANARY_STARTER_ROLE = CustomRole(
    "censusCanaryStarter",
    "census canary starter",
    "Starts the census-canary build (Cloud Scheduler's job calls triggers.run as the deployer).",
    ("cloudbuild.builds.create",),
)


ALL_CUSTOM_ROLES = (
    PREFLIGHT_ROLE, PLANNER_ROLE, SUBMITTER_ROLE, DEPLOYER_ROLE, READER_ROLE,
    CANARY_STARTER_ROLE, TOKEN_MINTER_ROLE,
)  # fmt: skip


def custom_roles(s: Settings) -> list[CustomRole]:
    """The custom roles each env's stack defines in its own project."""
    by_role = {
        "non-prod": [SUBMITTER_ROLE],
        "prod": [DEPLOYER_ROLE, READER_ROLE, CANARY_STARTER_ROLE, TOKEN_MINTER_ROLE],
    }
    return [PREFLIGHT_ROLE, PLANNER_ROLE, *by_role.get(s.role, [])]


def role_label(role: str) -> str:
    """`roles/x` as is; a custom role by its id: `custom census...`."""
    return f"custom {role.rsplit('/', 1)[-1]}" if role.startswith("projects/") else role


def _sa(email: str) -> str:
    return f"serviceAccount:{email}"


def key_grants(s: Settings) -> list[Grant]:
    """Each service agent may use the keys of its own purpose (settings.key_users), no other."""
    return [
        Grant(s.project_id, "key", s.key_id(purpose), ENCRYPTER_DECRYPTER, _sa(agent))
        for purpose in s.kms.keys
        for agent in s.key_user_emails(purpose)
    ]


def promotion_of(platform: Platform, env: str) -> str:
    """How runs reach prod for `env` (either tenant): its non-prod tenant's setting."""
    s = platform[env]
    non_prod = s if s.role == "non-prod" else platform.peer_of(env)
    return non_prod.pipeline_settings().promotion if non_prod is not None else "canary"


def _in_tenant(s: Settings) -> list[Grant]:
    p, b = s.project_id, s.buckets
    sa = s.service_account_email
    g: list[Grant] = []

    def add(kind: str, resource: str, role: str, email: str) -> None:
        g.append(Grant(p, kind, resource, role, _sa(email)))

    # Planner: reads everything the stacks manage, and the state (plans run with -lock=false);
    # writes the logs of the pull requests' builds it runs (Cloud Build refuses them else).
    add("project", p, PLANNER_ROLE.name(p), sa("planner"))
    add("project", p, "roles/logging.logWriter", sa("planner"))
    add("bucket", s.state_bucket, "roles/storage.objectViewer", sa("planner"))
    if s.role == "non-prod":  # the one object the stacks manage: the function's source
        add("bucket", b.of("templates"), "roles/storage.objectViewer", sa("planner"))
    if s.role != "prod":
        # Build: writes its logs; pushes images and templates and submits pipeline runs as
        # the pipeline SA (below). Prod has none: its builds run as the deployer.
        add("project", p, "roles/logging.logWriter", sa("build"))
    if s.role == "prod":
        # Deployer: registers versions, deploys to the endpoint as the serving SA, monitors it
        # and judges the canary on its Cloud Monitoring figures (DEPLOYER_ROLE: Vertex AI has no
        # IAM on models or endpoints, and time series none below the project), and copies the
        # approved model and its baseline into prod's own buckets.
        add("project", p, DEPLOYER_ROLE.name(p), sa("deployer"))
        # ...runs prod's builds (census-canary; census-deploy in approval mode): writes
        # their logs. Cloud Scheduler starts census-canary with the deployer's token: it may
        # start builds (CANARY_STARTER_ROLE) that run as itself (actAs on itself), no other.
        add("project", p, "roles/logging.logWriter", sa("deployer"))
        add("project", p, CANARY_STARTER_ROLE.name(p), sa("deployer"))
        add("service_account", sa("deployer"), "roles/iam.serviceAccountUser", sa("deployer"))
        # the models bucket: each version's files, and prod's change lease (a deploy and
        # the canary take it in turn: adapters/vertex/lease.py)
        add("bucket", b.models, "roles/storage.objectUser", sa("deployer"))
        add("bucket", b.data, "roles/storage.objectUser", sa("deployer"))
        add("service_account", sa("serving"), "roles/iam.serviceAccountUser", sa("deployer"))
        # Approvers: people who approve prod's infrastructure applies, after reading the plan
        # saved beside the state (the state holds no secret: no keys, no passwords), and in
        # approval mode census-deploy builds.
        for approver in s.cloudbuild.approvers:
            g.append(Grant(p, "project", p, "roles/cloudbuild.builds.approver", approver))
            g.append(Grant(p, "bucket", s.state_bucket, "roles/storage.objectViewer", approver))
        # Reader: the decide step's view of prod (versions, aliases, the champion's files).
        add("project", p, READER_ROLE.name(p), sa("reader"))
        add("bucket", b.models, "roles/storage.objectViewer", sa("reader"))
        # Serving: reads the model it serves.
        add("bucket", b.models, "roles/storage.objectViewer", sa("serving"))
        # Vertex AI's agent loads model artifacts and the monitoring baseline through the
        # project role Google gives it (roles/aiplatform.serviceAgent covers the project's
        # objects): bucket grants for it would add nothing (shown by the simulation).
        return g
    images, templates = s.registry().images, s.registry().templates
    root, template_bucket = b.of("pipeline_root"), b.of("templates")
    # Pipeline: runs the promotion pipeline; launches training as the trainer SA.
    add("project", p, "roles/aiplatform.user", sa("pipeline"))
    add("project", p, "roles/bigquery.jobUser", sa("pipeline"))
    add("dataset", s.bigquery_dataset, "roles/bigquery.dataEditor", sa("pipeline"))
    add("bucket", root, "roles/storage.objectUser", sa("pipeline"))
    add("bucket", b.data, "roles/storage.objectViewer", sa("pipeline"))
    add("bucket", b.models, "roles/storage.objectUser", sa("pipeline"))
    add("bucket", template_bucket, "roles/storage.objectViewer", sa("pipeline"))
    add("repository", images, "roles/artifactregistry.reader", sa("pipeline"))
    add("service_account", sa("trainer"), "roles/iam.serviceAccountUser", sa("pipeline"))
    # Build: the submitter of pipeline runs (Cloud Build and the retraining function both run
    # as it): pushes images and templates, submits as the pipeline SA, and reads the metadata
    # the preflight checks (keys, buckets, dataset), never their contents.
    add("service_account", sa("pipeline"), "roles/iam.serviceAccountUser", sa("build"))
    add("project", p, "roles/aiplatform.user", sa("build"))
    add("repository", images, "roles/artifactregistry.writer", sa("build"))
    add("repository", templates, "roles/artifactregistry.writer", sa("build"))
    add("bucket", template_bucket, "roles/storage.objectUser", sa("build"))
    g.extend(preflight_grants(s, s.service_account_email("build")))
    if s.role == "non-prod":
        # The retraining function runs as its own identity: Eventarc's push invokes it as it
        # (run.invoker; a Pub/Sub trigger needs no eventReceiver), it reads the published
        # template, and submits runs as the pipeline identity after the preflight.
        add("project", p, "roles/logging.logWriter", sa("retrain"))
        add("run_service", RETRAIN_FUNCTION, "roles/run.invoker", sa("retrain"))
        add("bucket", template_bucket, "roles/storage.objectViewer", sa("retrain"))
        add("project", p, SUBMITTER_ROLE.name(p), sa("retrain"))
        add("service_account", sa("pipeline"), "roles/iam.serviceAccountUser", sa("retrain"))
        g.extend(preflight_grants(s, s.service_account_email("retrain")))
        # ...and is built by its own identity: reads its source, pushes its image (to a
        # repository of its own, never to the images prod pulls), logs.
        add("project", p, "roles/logging.logWriter", sa("retrain_builder"))
        add("bucket", template_bucket, "roles/storage.objectViewer", sa("retrain_builder"))
        add(
            "repository",
            str(s.registry().functions),
            "roles/artifactregistry.writer",
            sa("retrain_builder"),
        )
    # Trainer: reads data, writes the model and its pipeline outputs.
    add("bucket", b.data, "roles/storage.objectViewer", sa("trainer"))
    add("bucket", root, "roles/storage.objectUser", sa("trainer"))
    add("bucket", b.models, "roles/storage.objectUser", sa("trainer"))
    add("repository", images, "roles/artifactregistry.reader", sa("trainer"))
    return g


RETRAIN_FUNCTION = "census-retrain"


def preflight_grants(s: Settings, caller: str) -> list[Grant]:
    """Read-only metadata a caller needs for `mlops doctor` on tenant `s`."""
    grants = [
        Grant(
            s.project_id, "key_ring", s.key_ring_id, PREFLIGHT_ROLE.name(s.project_id), _sa(caller)
        )
    ]
    grants += [
        Grant(
            s.project_id,
            "bucket",
            getattr(s.buckets, purpose),
            PREFLIGHT_ROLE.name(s.project_id),
            _sa(caller),
        )
        for purpose in s.run_buckets
    ]
    if s.role != "prod":
        grants.append(
            Grant(
                s.project_id,
                "dataset",
                s.bigquery_dataset,
                "roles/bigquery.metadataViewer",
                _sa(caller),
            )
        )
    return grants


def cross_tenant_grants(platform: Platform, env: str) -> list[Grant]:
    """Grants in `env` whose member lives in the peer tenant.

    The only cross-tenant write path is the staging pipeline acting as the prod deployer.
    Prod copies what it needs from staging (the model and its skew baseline, both in the
    models bucket) instead of reading staging at serve or monitor time; the prod Vertex agent
    pulls the serving image from staging's registry.
    """
    s = platform[env]
    peer = platform.peer_of(env)
    if peer is None:
        return []
    if s.role == "prod":
        # The staging pipeline reads prod as the reader; it acts as the deployer only when
        # runs may promote on their own (promotion = "canary").
        acts_as: list[Identity] = ["reader"]
        approval = promotion_of(platform, env) == "approval"
        if not approval:
            acts_as.append("deployer")
        return [
            # ...or, with approval, may only announce an approved candidate to census-deploy.
            *(
                [
                    Grant(
                        s.project_id,
                        "topic",
                        s.approved_candidates_topic,
                        "roles/pubsub.publisher",
                        _sa(peer.service_account_email("pipeline")),
                    )
                ]
                if approval
                else []
            ),
            *(
                Grant(
                    s.project_id,
                    "service_account",
                    s.service_account_email(identity),
                    TOKEN_MINTER_ROLE.name(s.project_id),
                    _sa(peer.service_account_email("pipeline")),
                )
                for identity in acts_as
            ),
            # The submitters' preflight checks prod's keys and buckets before a run starts.
            *preflight_grants(s, peer.service_account_email("build")),
            *preflight_grants(s, peer.service_account_email("retrain")),
        ]
    return [
        Grant(
            s.project_id,
            "bucket",
            s.buckets.models,
            "roles/storage.objectViewer",
            _sa(peer.service_account_email("deployer")),
        ),
        # Prod's anomaly sink (infra/constructs/anomalies.py) writes as prod's Logging agent.
        Grant(
            s.project_id,
            "topic",
            s.retraining_topic,
            "roles/pubsub.publisher",
            _sa(logging_writer_email(peer.project_number)),
        ),
        Grant(
            s.project_id,
            "repository",
            s.registry().images,
            "roles/artifactregistry.reader",
            _sa(peer.service_agent_email("vertex")),
        ),
    ]


def tenant_grants(platform: Platform, env: str) -> list[Grant]:
    """Grants whose members all live in `env`'s own project: the tenant stack's."""
    s = platform[env]
    return sorted({*key_grants(s), *_in_tenant(s)})


def plan_grants(platform: Platform, env: str) -> list[Grant]:
    """Every grant in `env`'s project, in either of its stacks."""
    return sorted({*tenant_grants(platform, env), *cross_tenant_grants(platform, env)})


def member_name(platform: Platform, env: str, email: str) -> str:
    """'pipeline', 'Vertex AI agent', or 'staging pipeline' for a member of another env."""
    for other in platform.envs.values():
        prefix = "" if other.env == env else f"{other.env} "
        for identity in other.service_accounts:
            if other.service_account_email(identity) == email:
                return prefix + identity
        for purpose, name in AGENT_NAMES.items():
            if other.service_agent_email(purpose) == email:
                return prefix + name
        if logging_writer_email(other.project_number) == email:
            return prefix + "Logging agent"
    return email


def resource_name(platform: Platform, env: str, grant: Grant) -> str:
    """'bucket models', 'key vertex', 'service account deployer', 'project', ..."""
    s = platform[env]
    names: dict[str, dict[str, str]] = {
        "bucket": {v: k for k, v in {**s.buckets.by_purpose(), "state": s.state_bucket}.items()},
        "repository": {
            name: purpose
            for purpose, name in (
                s.artifact_registry.model_dump() if s.artifact_registry else {}
            ).items()
            if name is not None
        },
        "key": {s.key_id(p): p for p in s.kms.keys},
    }
    if grant.kind in ("project", "dataset", "key_ring"):
        return grant.kind.replace("_", " ")
    if grant.kind == "run_service":
        return f"function {grant.resource}"
    if grant.kind == "topic":
        return f"topic {grant.resource}"
    if grant.kind == "service_account":
        return f"service account {member_name(platform, env, grant.resource)}"
    return f"{grant.kind} {names[grant.kind].get(grant.resource, grant.resource)}"


def describe(platform: Platform, env: str, grant: Grant) -> tuple[str, str, str]:
    """(member, role, on) in the words of the table in docs/infra.md."""
    return (
        member_name(platform, env, grant.member_email),
        role_label(grant.role),
        resource_name(platform, env, grant),
    )


_IAM_RESOURCE_KINDS = {
    "google_project_iam_member": ("project", "project"),
    "google_storage_bucket_iam_member": ("bucket", "bucket"),
    "google_bigquery_dataset_iam_member": ("dataset", "dataset_id"),
    "google_artifact_registry_repository_iam_member": ("repository", "repository"),
    "google_service_account_iam_member": ("service_account", "service_account_id"),
    "google_kms_crypto_key_iam_member": ("key", "crypto_key_id"),
    "google_kms_key_ring_iam_member": ("key_ring", "key_ring_id"),
    "google_cloud_run_service_iam_member": ("run_service", "service"),
    "google_pubsub_topic_iam_member": ("topic", "topic"),
}


def grants_in_stack(stack: dict, project: str) -> list[Grant]:
    """Read every IAM member binding back out of a synthesized stack."""
    grants = []
    for rtype, by_name in stack.get("resource", {}).items():
        if rtype not in _IAM_RESOURCE_KINDS:
            continue
        kind, field = _IAM_RESOURCE_KINDS[rtype]
        for body in by_name.values():
            resource = body[field]
            if kind == "service_account":
                resource = resource.rsplit("/", 1)[-1]
            grants.append(
                Grant(body.get("project", project), kind, resource, body["role"], body["member"])
            )
    return sorted(grants)
