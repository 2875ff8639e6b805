"""IAM as Google evaluates it, for the simulation: a binding, and the check through the
resource hierarchy. Roles and method permissions come from kernel.gcp_iam."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.gcp_iam import method_permissions, required_permission, role_permissions

__all__ = ["Binding", "holds", "method_permissions", "required_permission", "role_permissions"]


_BASIC = ("roles/owner", "roles/editor", "roles/viewer")


@dataclass(frozen=True, order=True)
class Binding:
    resource: str  # canonical resource name, e.g. projects/p, projects/_/buckets/b
    role: str
    member: str  # serviceAccount:x@y, user:x@y


def holds(
    principal: str,
    permission: str,
    chain: list[str],
    bindings: list[Binding],
    custom: dict[str, frozenset[str]],
) -> Binding | None:
    """The binding through which `principal` holds `permission` on a resource whose ancestry
    (the resource itself first, then its parents up to the project) is `chain`, or None."""
    members = {f"serviceAccount:{principal}", f"user:{principal}", "allUsers"}
    members |= {  # a bucket's convenience bindings reach the project's basic-role holders
        f"project{b.role.removeprefix('roles/').title()}:{b.resource.removeprefix('projects/')}"
        for b in bindings
        if b.role in _BASIC and b.member in members
    }
    on = set(chain)
    for binding in bindings:
        if (
            binding.resource in on
            and binding.member in members
            and permission in role_permissions(binding.role, custom)
        ):
            return binding
    return None
