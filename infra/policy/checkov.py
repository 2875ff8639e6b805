"""Run checkov's built-in checks on synthesized JSON and read its findings.

Waivers live here, each with its reason; a waived finding is still printed, marked waived.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from kernel.errors import UserError

ALL_ENVS = ("dev", "staging", "prod")

# check id -> (envs where it is waived, why)
WAIVERS: dict[str, tuple[tuple[str, ...], str]] = {
    "CKV_GCP_62": (
        ALL_ENVS,
        "bucket access is logged by Cloud Audit Logs data-access logs "
        "(infra/constructs/audit.py, enforced by our rule storage-access-logged); legacy "
        "usage logs would need another bucket, itself unlogged",
    ),
    "CKV2_GCP_33": (
        ("prod",),
        "a private Vertex endpoint needs VPC peering or Private Service Connect; networking "
        "is deliberately left out (docs/infra.md, 'Left out'); predict access is IAM-only",
    ),
    "CKV_GCP_82": (
        ("dev",),
        "dev may be torn down: destroying a key only destroys its versions (Google never "
        "deletes a key or key ring, so their names stay taken and a later apply must import "
        "them); staging and prod keys have prevent_destroy, enforced by key-prevent-destroy",
    ),
}


def waiver_for(check_id: str, env: str) -> str | None:
    envs, reason = WAIVERS.get(check_id, ((), ""))
    return reason if env in envs else None


@dataclass(frozen=True, order=True)
class Finding:
    file: str
    check_id: str
    resource: str
    name: str
    passed: bool


# checkov asks pypi.org for a newer checkov on every run (found by sealing the simulated
# builds): the gate's result must not depend on, or wait for, the network.
CHECKOV_ENV = {"CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}


def checkov_command(files: list[Path]) -> list[str]:
    command = [sys.executable, "-m", "checkov.main", "--framework", "terraform_json"]
    for f in files:
        command += ["-f", str(f)]
    # --skip-download: no network here, and none needed for the built-in checks.
    return [*command, "-o", "json", "--skip-download", "--compact"]


def parse_report(text: str) -> list[Finding]:
    """checkov prints one report object, or a list of them; an empty scan prints {} or []."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"checkov printed no JSON report ({exc}): {text[:200]!r}") from None
    reports = data if isinstance(data, list) else [data]
    findings = []
    for report in reports:
        results = report.get("results", {})
        if results.get("parsing_errors"):  # else the gate would pass what nobody checked
            raise UserError(f"checkov could not parse {', '.join(results['parsing_errors'])}")
        for key, passed in (("passed_checks", True), ("failed_checks", False)):
            for c in results.get(key, []):
                findings.append(
                    Finding(
                        file=c.get("file_abs_path") or c["file_path"],
                        check_id=c["check_id"],
                        resource=c["resource"].removeprefix("resource."),
                        name=c["check_name"],
                        passed=passed,
                    )
                )
    return sorted(findings)


def run_checkov(files: list[Path]) -> list[Finding]:
    """checkov over `files`; its findings name the files given. checkov's JSON parser takes
    only blocks in `terraform` (it fails on the `required_version` string), so it reads
    copies without it."""
    with tempfile.TemporaryDirectory(prefix="checkov-") as tmp:
        copies = {}
        for i, original in enumerate(files):
            stack = json.loads(original.read_text())
            stack.get("terraform", {}).pop("required_version", None)
            copy = Path(tmp) / str(i) / original.name
            copy.parent.mkdir()
            copy.write_text(json.dumps(stack))
            copies[str(copy.resolve())] = str(original)
        proc = subprocess.run(checkov_command(list(map(Path, copies))), capture_output=True,
                              text=True, env={**os.environ, **CHECKOV_ENV})  # fmt: skip
        # checkov exits 1 when a check fails; anything else non-zero is checkov failing.
        if proc.returncode not in (0, 1):
            raise UserError(
                f"checkov failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}"
            )
        found = parse_report(proc.stdout)
    return [replace(f, file=copies.get(str(Path(f.file).resolve()), f.file)) for f in found]
