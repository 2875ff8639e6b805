"""Data-access audit logs: who read or wrote which object, used which key, or called which
Vertex AI method, in Cloud Logging.

For Cloud Storage this is the modern replacement for legacy bucket usage logs (checkov
CKV_GCP_62), which would need yet another bucket, itself unlogged. Cloud KMS logs every
encrypt/decrypt with the caller; Vertex AI every read of models, endpoints and jobs.
"""

from __future__ import annotations

from cdktf_cdktf_provider_google.project_iam_audit_config import (
    ProjectIamAuditConfig,
    ProjectIamAuditConfigAuditLogConfig,
)
from constructs import Construct

AUDITED_SERVICES = (
    "storage.googleapis.com",
    "cloudkms.googleapis.com",
    "aiplatform.googleapis.com",
)


class DataAccessAuditLogs(Construct):
    def __init__(self, scope: Construct, id_: str, *, project: str) -> None:
        super().__init__(scope, id_)
        for service in AUDITED_SERVICES:
            ProjectIamAuditConfig(
                self,
                service.split(".")[0],
                project=project,
                service=service,
                audit_log_config=[
                    ProjectIamAuditConfigAuditLogConfig(log_type=t)
                    for t in ("ADMIN_READ", "DATA_READ", "DATA_WRITE")
                ],
            )
