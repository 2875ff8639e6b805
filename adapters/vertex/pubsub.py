"""Publishing to a Pub/Sub topic through its REST API (google-cloud-pubsub speaks gRPC only,
which a plain HTTP endpoint such as the simulated cloud's cannot answer)."""

from __future__ import annotations

from typing import Any

from adapters.vertex import requests
from adapters.vertex.credentials import own_credentials
from kernel import gcp
from kernel.errors import PlatformRefused


class PubSubPublisher:
    """Publishes to `topic` (projects/P/topics/T) as the caller's own identity."""

    def __init__(self, topic: str, credentials: Any = None) -> None:
        self.topic, self.credentials = topic, credentials

    def __call__(self, attributes: dict[str, str], data: bytes) -> str:
        """Publish one message; its message id. A refusal is one PlatformRefused line."""
        from google.auth.transport.requests import AuthorizedSession

        credentials = self.credentials or own_credentials()
        session = AuthorizedSession(credentials)
        base = gcp.endpoint("pubsub") or "https://pubsub.googleapis.com"
        request = requests.publish_request(self.topic, attributes, data)
        response = session.post(base + request["path"], json=request["json"], timeout=60)
        if response.status_code != 200:
            who = getattr(credentials, "service_account_email", None) or "the caller"
            raise PlatformRefused(
                f"Google Cloud refused pubsub.topics.publish on {self.topic} to {who} "
                f"({response.status_code}): {requests.error_message(response)}"
            )
        return str(response.json()["messageIds"][0])
