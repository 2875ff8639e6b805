"""`mlops policy`: synthesize, then judge each env with checkov and the project's rules."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from infra.iam import promotion_of
from infra.policy import rules
from infra.policy.checkov import Finding, run_checkov, waiver_for
from settings import Platform
from settings.model import Identity


@dataclass
class EnvVerdict:
    env: str
    findings: list[Finding] = field(default_factory=list)
    violations: list[rules.Violation] = field(default_factory=list)
    exemptions: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if not f.passed and not waiver_for(f.check_id, self.env)]

    @property
    def waived(self) -> list[Finding]:
        return [f for f in self.findings if not f.passed and waiver_for(f.check_id, self.env)]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.violations

    def lines(self) -> list[str]:
        passed = sum(f.passed for f in self.findings)
        out = [
            f"{self.env}: checkov {passed} passed, {len(self.failed)} failed, "
            f"{len(self.waived)} waived; project rules {len(rules.RULES)} checked, "
            f"{len(self.violations)} violations"
        ]
        out += [f"  FAIL {f.resource}: [{f.check_id}] {f.name}" for f in self.failed]
        out += [f"  FAIL {v}" for v in self.violations]
        by_check: dict[str, list[str]] = {}
        for f in self.waived:
            by_check.setdefault(f.check_id, []).append(f.resource)
        for check_id, resources in sorted(by_check.items()):
            out.append(
                f"  waived {check_id} on {len(resources)} resource(s): "
                f"{waiver_for(check_id, self.env)}"
            )
        out += [f"  exempt {line}" for line in self.exemptions]
        return out


def facts_for(platform: Platform, env: str) -> rules.StackFacts:
    """The env's protection, the cross-tenant token paths the design has (the non-prod
    pipeline minting the prod reader's tokens, and the deployer's when runs promote on their
    own), and the one repository with movable tags."""
    s = platform[env]
    allowed: frozenset[tuple[str, str]] = frozenset()
    peer = platform.peer_of(env)
    if s.role == "prod" and peer is not None:
        # The staging pipeline may read prod as the reader, and act as the deployer only when
        # runs promote on their own.
        targets: list[Identity] = ["reader"]
        if promotion_of(platform, env) == "canary":
            targets.append("deployer")
        allowed = frozenset(
            (
                peer.service_account_email("pipeline"),
                f"projects/{s.project_id}/serviceAccounts/{s.service_account_email(t)}",
            )
            for t in targets
        )
    mutable: tuple[tuple[str, str], ...] = ()
    functions = s.artifact_registry.functions if s.artifact_registry else None
    if functions is not None:
        mutable = (
            (
                functions,
                "Cloud Functions re-tags each build; the function runs the digest its deploy "
                "recorded, and nothing else pulls from this repository",
            ),
        )
    return rules.StackFacts(
        protect_keys=s.keys_protected, token_creators=allowed, mutable_repositories=mutable
    )


def judge(stack_files: dict[str, Path], facts: dict[str, rules.StackFacts]) -> list[EnvVerdict]:
    """One checkov run over every file (it costs ~3 s to start), then our rules per env."""
    findings = run_checkov(list(stack_files.values()))
    verdicts = []
    for env, path in stack_files.items():
        mine = [f for f in findings if Path(f.file).resolve() == path.resolve()]
        stack = json.loads(path.read_text())
        violations = rules.check(stack, facts[env])
        repositories = {
            r["repository_id"]
            for r in stack.get("resource", {})
            .get("google_artifact_registry_repository", {})
            .values()
        }
        exempt = [
            f"immutable-image-tags on {repo}: {why}"
            for repo, why in facts[env].mutable_repositories
            if repo in repositories
        ]
        verdicts.append(EnvVerdict(env, mine, violations, exempt))
    return verdicts
