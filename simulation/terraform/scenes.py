"""The infrastructure's life in the simulated cloud (`mlops simulate infra`), one scene each:

a. the bootstrap and first apply, as the projects' owner, in the documented order;
b. a pull request's plan of every stack, as the env's read-only planner;
c. CI's applies as `census-infra`: nothing changed, then a custom role and a label changed;
d. what fails, and how the API says so: a stack before its peer, a grant removed, an agent
   never asked for.

Each returns the runs it made (applier.Run): their changes, calls and verdicts.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass, field

from infra.layout import is_cross_tenant
from simulation.terraform.applier import OWNER, Cloud, Run, infra_identity, planner_identity

# Each tenant's own stack on empty projects (dev is independent), then the grants in each
# project whose members live in the other, once both tenants' identities exist (docs/infra.md).
FIRST_APPLY = ("dev", "staging", "prod", "staging-cross-tenant", "prod-cross-tenant")


@dataclass
class Scene:
    title: str
    runs: list[Run] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the scene shows, in a line each

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.runs)


def first_apply(
    stacks: dict[str, dict], order: tuple[str, ...] = FIRST_APPLY, cloud: Cloud | None = None
) -> tuple[Cloud, Scene]:
    """(a) Empty projects (or `cloud`'s); each stack applied by the owner in `order`; after
    each tenant's first apply, the owner grants its `census-infra` the roles CI applies
    with."""
    cloud = cloud or Cloud(stacks)
    scene = Scene("a. bootstrap and first apply, as the projects' owner")
    for part in order:
        scene.runs.append(cloud.apply(part, OWNER))
        if not is_cross_tenant(part):
            scene.runs.append(cloud.grant_infra(part))
    return cloud, scene


def pull_request_plans(cloud: Cloud) -> Scene:
    """(b) Every stack planned by its env's planner: reads only, state and named objects."""
    scene = Scene("b. a pull request's plan of every stack, as the planner")
    for part in cloud.stacks:
        run = cloud.plan(part, planner_identity(cloud.project(part)), lock=False)
        scene.runs.append(run)
        objects = sorted(
            {c.resource for e in run.calls for c in e.checks if "/objects/" in c.resource}
        )
        scene.notes.append(f"{part}: objects read: {', '.join(objects) or 'none'}")
    return scene


def ci_applies(cloud: Cloud, role_gains: str = "iam.roles.get") -> Scene:
    """(c) Every stack applied again by `census-infra` with no change; then one custom role
    gains `role_gains` and one bucket's label changes: only those two are updated; then one
    bucket grant is dropped: only it is destroyed."""
    scene = Scene("c. CI applies as census-infra: no change, a role and a label, a grant dropped")
    for part in cloud.stacks:
        scene.runs.append(cloud.apply(part, infra_identity(cloud.project(part))))
    changed = copy.deepcopy(cloud.stacks["staging"])
    role = next(iter(changed["resource"]["google_project_iam_custom_role"].values()))
    role["permissions"] = sorted({*role["permissions"], role_gains})
    bucket = next(iter(changed["resource"]["google_storage_bucket"].values()))
    bucket["labels"] = {**bucket.get("labels", {}), "team": "ml-platform"}
    infra = infra_identity(cloud.project("staging"))
    scene.runs.append(
        cloud.plan("staging", planner_identity(cloud.project("staging")), changed, lock=False)
    )
    scene.runs.append(cloud.apply("staging", infra, changed))
    scene.notes.append(f"staging: {role['role_id']} gains {role_gains}; bucket {bucket['name']} "
                       "gains the label team=ml-platform")  # fmt: skip
    grants = changed["resource"]["google_storage_bucket_iam_member"]
    dropped = next(n for n, g in grants.items() if "objectViewer" in g["role"])
    gone = grants.pop(dropped)
    scene.runs.append(cloud.apply("staging", infra, changed))
    scene.notes.append(f"staging: {gone['role']} for {gone['member'].split('@')[0]} on "
                       f"{gone['bucket']} dropped")  # fmt: skip
    return scene


def failures(stacks: dict[str, dict]) -> Scene:
    """(d) Three mistakes, each failing the way Google's API says it."""
    scene = Scene("d. what fails: wrong order, a grant removed, an agent never asked for, "
                  "a protected bucket dropped")  # fmt: skip
    early = ("dev", "staging", "staging-cross-tenant")
    cloud, played = first_apply(stacks, early)
    scene.runs.append(played.runs[-1])
    scene.notes.append("staging-cross-tenant before prod: its grants name prod's identities")

    cloud, _ = first_apply(stacks)
    infra = infra_identity(cloud.project("staging"))
    cloud.world.bindings = [
        b for b in cloud.world.bindings
        if not (b.role == "roles/iam.roleAdmin" and b.member == f"serviceAccount:{infra}")
    ]  # fmt: skip
    scene.runs.append(cloud.apply("staging", infra))
    scene.notes.append(f"roles/iam.roleAdmin removed from {infra}: its custom roles unreadable")

    without = _without_agent(stacks, "dev", "aiplatform.googleapis.com")
    _, played = first_apply(without, ("dev",))
    scene.runs.append(played.runs[0])
    scene.notes.append("dev without its Vertex AI agent asked for: the key grant names no one")

    cloud, _ = first_apply(stacks)
    changed = copy.deepcopy(stacks["prod"])
    buckets = changed["resource"]["google_storage_bucket"]
    (models,) = [n for n, b in buckets.items() if b["name"].endswith("-models")]
    _remove(changed, f"google_storage_bucket.{models}")
    for name in [n for n, g in changed["resource"]["google_storage_bucket_iam_member"].items()
                 if g["bucket"].endswith("-models")]:  # fmt: skip
        del changed["resource"]["google_storage_bucket_iam_member"][name]
    scene.runs.append(
        cloud.plan("prod", planner_identity(cloud.project("prod")), changed, lock=False)
    )
    scene.notes.append(
        "prod's models bucket dropped from the stack: prevent_destroy stops the plan"
    )
    return scene


def _without_agent(stacks: dict[str, dict], part: str, service: str) -> dict[str, dict]:
    changed = copy.deepcopy(stacks)
    resources = changed[part]["resource"]
    identities = resources["google_project_service_identity"]
    (name,) = [n for n, b in identities.items() if b["service"] == service]
    _remove(changed[part], f"google_project_service_identity.{name}")
    return changed


def _remove(stack: dict, address: str) -> None:
    """`address` taken out of `stack`, and out of every depends_on that named it."""
    rtype, name = address.split(".", 1)
    del stack["resource"][rtype][name]
    for kind in ("resource", "data"):
        for by_name in stack.get(kind, {}).values():
            for body in by_name.values():
                body["depends_on"] = [d for d in body.get("depends_on", []) if d != address]


def play(stacks: dict[str, dict]) -> list[Scene]:
    """All four scenes, in order."""
    cloud, first = first_apply(stacks)
    return [first, pull_request_plans(cloud), ci_applies(cloud), failures(stacks)]


def resources_applied(scene: Scene) -> dict[str, int]:
    """Resources each stack's first apply created (data sources not counted)."""
    return {r.part: r.count("create") for r in scene.runs if not r.part.endswith("bootstrap")}


def problems(scenes: list[Scene]) -> list[str]:
    """What went against expectation: a-c must succeed, each run of d must fail."""
    found = [f"{s.title}: {e.address}: {e.error}" for s in scenes[:3] for r in s.runs
             for e in r.errors]  # fmt: skip
    if len(scenes) > 3:
        found += [f"{scenes[3].title}: {r.part} applied" for r in scenes[3].runs if r.ok]
    return found


def as_json(scenes: list[Scene]) -> dict:
    """`mlops simulate infra --json`: each scene's runs, what they did and what failed."""
    return {
        "scenes": [
            {
                "title": scene.title.strip(),
                "ok": scene.ok,
                "notes": scene.notes,
                "runs": [
                    {
                        "part": run.part,
                        "kind": run.kind,
                        "identity": run.principal,
                        "ok": run.ok,
                        "calls": len(run.calls),
                        "permissions": sorted(run.permissions()),
                        "created": run.count("create"),
                        "errors": [f"{e.address}: {e.error}" for e in run.errors],
                    }
                    for run in scene.runs
                ],
            }
            for scene in scenes
        ],
        "problems": problems(scenes),
    }


def report(scenes: list[Scene], wire: bool = False) -> list[str]:
    """Each scene's runs (and their failures), then what each identity did."""
    lines: list[str] = []
    for scene in scenes:
        lines.append(f"\n{scene.title}")
        for run in scene.runs:
            lines.append(f"  {run.summary()}")
            lines += [f"    FAILED {e.address}: {e.error}" for e in run.errors
                      if not e.error.startswith("skipped")]  # fmt: skip
            lines += [f"      {c.line()}" for c in run.calls] if wire else []
        lines += [f"  - {note}" for note in scene.notes]
    lines.append("\nwhat each identity did (calls; permissions checked; verdicts)")
    by: dict[str, list] = defaultdict(list)
    for scene in scenes:
        for run in scene.runs:
            by[run.principal] += run.calls
    for principal, calls in sorted(by.items(), key=lambda kv: -len(kv[1])):
        checks = [k for c in calls for k in c.checks]
        denied = sum(not k.allowed for k in checks)
        lines.append(f"  {principal}: {len(calls)} calls; {len({k.permission for k in checks})} "
                     f"permissions; {len(checks) - denied} allowed, {denied} denied")  # fmt: skip
    return lines
