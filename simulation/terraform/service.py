"""The simulated provider's endpoint: what a build's `terraform` (simulation/ci/tools) asks
of the cloud. Real Terraform runs the Google provider in the build and sends its calls with
the build's token; here the provider lives in the cloud's process (simulation/terraform),
so the command carries the token and each of the provider's calls is checked as its holder.

Not a Google API: `POST /terraform/v1/stacks/STACK:plan|apply`, body {"config": the stack's
cdk.tf.json, "lock": bool, "saved": a saved plan or null}; the answer is what Terraform
prints and whether it failed.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from infra.layout import stack_name
from simulation.apis.routing import register, route
from simulation.terraform.applier import Cloud, Run, SavedPlan
from simulation.wire import ApiError

STACK = r"/v1/stacks/(?P<stack>[^/:]+)"
SYMBOL = {"create": "+", "update": "~", "replace": "-/+", "delete": "-", "read": "<="}
VERB = {"create": "created", "update": "updated in-place", "replace": "replaced",
        "delete": "destroyed", "read": "read"}  # fmt: skip


def render(run: Run) -> str:
    """What `terraform plan` or `apply` prints of `run`: each change, then the summary or the
    errors (Terraform's shape, abridged)."""
    lines = [
        f"  {SYMBOL[c.action]} {c.address} will be {VERB[c.action]}"
        for c in run.changes
        if c.action in SYMBOL and not c.error and c.action != "read"
    ]
    for failed in run.errors:
        lines += ["", f"Error: {failed.error}", "", f"  with {failed.address}"]
    if run.errors:
        return "\n".join(lines)
    add, change = run.count("create") + run.count("replace"), run.count("update")
    gone = run.count("delete") + run.count("replace")
    if run.kind == "plan":
        if not (add or change or gone):
            return "No changes. Your infrastructure matches the configuration."
        return "\n".join([*lines, f"Plan: {add} to add, {change} to change, {gone} to destroy."])
    return f"Apply complete! Resources: {add} added, {change} changed, {gone} destroyed."


def part_of(stack: str, cloud: Cloud) -> str:
    for part in cloud.stacks:
        if stack_name(part) == stack:
            return part
    raise ApiError(404, f"no stack {stack!r} in this cloud (known: "
                   f"{', '.join(stack_name(p) for p in cloud.stacks)})")  # fmt: skip


class Terraform:
    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud

    @route("POST", STACK + ":plan", "terraform.plan")
    def plan(self, call: Any, stack: str) -> JSONResponse:
        body = call.json()
        part = part_of(stack, self.cloud)
        config = body["config"]
        run = self.cloud.plan(part, call.principal, config, lock=bool(body.get("lock", True)))
        saved = self.cloud.save(run, config)
        return _answer(run, {"part": saved.part, "stack": saved.stack, "serial": saved.serial})

    @route("POST", STACK + ":apply", "terraform.apply")
    def apply(self, call: Any, stack: str) -> JSONResponse:
        body = call.json()
        saved = body.get("saved")
        if not saved:
            raise ApiError(400, "apply takes a saved plan here (`terraform apply tfplan`)")
        plan = SavedPlan(part_of(stack, self.cloud), saved["stack"], int(saved["serial"]))
        if saved.get("part") != plan.part:
            raise ApiError(400, f"the saved plan is {saved.get('part')!r}'s, not {plan.part!r}'s")
        return _answer(self.cloud.apply_saved(plan, call.principal), None)


def _answer(run: Run, saved: dict | None) -> JSONResponse:
    return JSONResponse({"ok": run.ok, "text": render(run), "saved": saved,
                         "summary": run.summary()})  # fmt: skip


def install(sim: Any, cloud: Cloud) -> None:
    """Serve `cloud`'s Terraform on `sim` (the simulation the cloud's projects live in)."""
    register(sim, "terraform", Terraform(cloud))
