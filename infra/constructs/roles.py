"""Project-level custom roles (infra.iam.custom_roles): narrower than any predefined role."""

from __future__ import annotations

from cdktf_cdktf_provider_google.project_iam_custom_role import ProjectIamCustomRole
from constructs import Construct

from infra.iam import CustomRole


class CustomRoles(Construct):
    def __init__(
        self, scope: Construct, id_: str, *, project: str, roles: list[CustomRole], depends_on=()
    ) -> None:
        super().__init__(scope, id_)
        self.by_name = {
            role.name(project): ProjectIamCustomRole(
                self,
                role.role_id,
                project=project,
                role_id=role.role_id,
                title=role.title,
                description=role.description,
                permissions=list(role.permissions),
                stage="GA",
                depends_on=list(depends_on),
            )
            for role in roles
        }
