"""Google's upload protocol, shared by Cloud Storage and BigQuery: multipart bodies, and
resumable uploads (start, then chunks until the total is known)."""

from __future__ import annotations

import email.parser
import email.policy
import json
import uuid

from starlette.responses import Response

from simulation.wire import ApiError


def multipart(content_type: str, body: bytes) -> tuple[dict, bytes]:
    """(the JSON metadata part, the data part) of a multipart/related body."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    parts = list(message.iter_parts())
    data = parts[1].get_payload(decode=True)
    if not isinstance(data, bytes):
        raise ValueError("multipart upload without a data part")
    return json.loads(parts[0].get_content()), data


class Resumable:
    """Open resumable uploads: `start` answers with the session URI, `chunk` gathers data."""

    def __init__(self) -> None:
        self._open: dict[str, dict] = {}

    def start(self, url: str, metadata: dict) -> Response:
        upload_id = uuid.uuid4().hex
        self._open[upload_id] = {"metadata": metadata, "data": b""}
        separator = "&" if "?" in url else "?"
        location = f"{url}{separator}uploadType=resumable&upload_id={upload_id}"
        return Response(status_code=200, headers={"Location": location})

    def chunk(self, call) -> tuple[dict, bytes] | Response:
        """(metadata, data) once the last chunk arrived; a 308 asking for more before."""
        upload_id = call.query.get("upload_id", "")
        state = self._open.get(upload_id)
        if state is None:
            raise ApiError(404, "no such upload")
        state["data"] += call.body
        total = call.request.headers.get("content-range", "").rsplit("/", 1)[-1]
        if total in ("*", ""):
            return Response(status_code=308, headers={"Range": f"bytes=0-{len(state['data']) - 1}"})
        del self._open[upload_id]
        return state["metadata"], state["data"]
