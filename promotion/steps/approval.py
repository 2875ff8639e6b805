"""promotion = "approval": the run stops at a record prod's deploy trigger deploys from."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from kernel.errors import UserError
from promotion.domain import layout
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

    def as_dict(self) -> dict[str, str]:
        return {field: getattr(self, field) for field in _FIELDS}


def approve_candidate(
    *,
    candidate_uri: str,
    run_id: str,
    commit: str,
    serving_image: str,
    reason: str,
    storage: Storage,
) -> Approval:
    """Record, beside the staged candidate, everything its deployment will need."""
    approval = Approval(candidate_uri, run_id, commit, serving_image, reason)
    candidate = layout.Candidate(candidate_uri)
    name = layout.APPROVAL.removeprefix(f"{layout.APPROVAL_FOLDER}/")
    text = json.dumps(approval.as_dict(), indent=2)
    storage.stage({}, {name: text}, candidate.file(layout.APPROVAL_FOLDER))
    return approval


def announce(approval: Approval, publish: Callable[[dict[str, str], bytes], str]) -> str:
    """Tell prod's deploy trigger about `approval`: the candidate as the message's attribute
    (census-deploy's _CANDIDATE), the whole record as its data; the message id."""
    record = {**approval.as_dict(), "candidate_uri": approval.candidate_uri}
    attributes = {"candidate": approval.candidate_uri, "run_id": approval.run_id}
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
    missing = [f for f in _FIELDS if not isinstance(record.get(f), str) or not record[f]]
    if missing:
        raise UserError(f"{where}: missing or empty: {', '.join(missing)}")
    return Approval(candidate_uri.rstrip("/"), *(record[f] for f in _FIELDS))
