"""promotion = "approval": the run stops at a record prod's deploy trigger deploys from."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from kernel.errors import UserError
from promotion.domain import checksums, layout
from promotion.ports import Storage

_FIELDS = ("run_id", "commit", "serving_image", "reason")


@dataclass(frozen=True)
class Approval:
    """What prod's deploy trigger needs to deploy a candidate a run approved."""

    candidate_uri: str
    run_id: str
    commit: str
    serving_image: str
    reason: str
    files: dict[str, str]  # each candidate file's SHA-256, as approved
    digest: str  # one SHA-256 over them (checksums.digest): what the approver approves

    def as_dict(self) -> dict:
        return {**{field: getattr(self, field) for field in _FIELDS},
                "files": self.files, "digest": self.digest}  # fmt: skip


def approve_candidate(
    *,
    candidate_uri: str,
    run_id: str,
    commit: str,
    serving_image: str,
    reason: str,
    storage: Storage,
) -> Approval:
    """Record, beside the staged candidate, everything its deployment will need, and the
    SHA-256 of each of its files: the deploy refuses bytes other than these."""
    candidate = layout.Candidate(candidate_uri)
    files = {
        name: sha
        for name, sha in storage.checksums(candidate_uri).items()
        if not name.startswith(f"{layout.APPROVAL_FOLDER}/")
    }
    if not files:
        raise UserError(f"{candidate_uri}: no candidate files to approve")
    approval = Approval(
        candidate_uri, run_id, commit, serving_image, reason, files, checksums.digest(files)
    )
    name = layout.APPROVAL.removeprefix(f"{layout.APPROVAL_FOLDER}/")
    text = json.dumps(approval.as_dict(), indent=2)
    storage.stage({}, {name: text}, candidate.file(layout.APPROVAL_FOLDER))
    return approval


def announce(approval: Approval, publish: Callable[[dict[str, str], bytes], str]) -> str:
    """Tell prod's deploy trigger about `approval`: the candidate and its digest as the
    message's attributes (census-deploy's _CANDIDATE and _DIGEST: what the approver sees and
    the deploy verifies), the whole record as its data; the message id."""
    record = {**approval.as_dict(), "candidate_uri": approval.candidate_uri}
    attributes = {"candidate": approval.candidate_uri, "run_id": approval.run_id,
                  "digest": approval.digest}  # fmt: skip
    return publish(attributes, json.dumps(record).encode())


def read_approval(storage: Storage, candidate_uri: str) -> Approval:
    """The approval a run left with `candidate_uri`; a UserError names what is wrong."""
    where = layout.Candidate(candidate_uri).file(layout.APPROVAL)
    try:
        text = storage.read_text(where)
    except FileNotFoundError:
        raise UserError(
            f"{where}: no approval here: is {candidate_uri} a candidate a run approved "
            '(promotion = "approval")?'
        ) from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{where}: not JSON ({exc})") from None
    if not isinstance(record, dict):
        raise UserError(f"{where}: missing or empty: everything")
    missing = [
        f for f in (*_FIELDS, "digest") if not isinstance(record.get(f), str) or not record[f]
    ]
    files = record.get("files")
    if not isinstance(files, dict) or not files:
        missing.append("files")
    if missing or not isinstance(files, dict):
        raise UserError(f"{where}: missing or empty: {', '.join(missing)}")
    if checksums.digest(files) != record["digest"]:
        raise UserError(f"{where}: its files do not add up to its digest: it was edited")
    run_id, commit, image, reason = (record[f] for f in _FIELDS)
    return Approval(candidate_uri.rstrip("/"), run_id, commit, image, reason, files,
                    record["digest"])  # fmt: skip


def require_digest(approval: Approval, digest: str | None) -> None:
    """The approval the deploy found must be the one the approver approved (the message's
    digest, shown on the pending build)."""
    if digest is not None and digest != approval.digest:
        raise UserError(
            f"{approval.candidate_uri}: approved digest {digest[:12]}... but its approval "
            f"record says {approval.digest[:12]}...: the candidate was approved again or "
            "its record rewritten; approve the new build instead"
        )
