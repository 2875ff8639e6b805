"""`python -m serving`: the Vertex AI serving container's entry point (AIP_* variables)."""

from __future__ import annotations

import os
import sys

import uvicorn

from serving.app import create_app, uvicorn_options
from serving.contract import ServerConfig
from serving.models import (
    SingleModel,
    compile_for_serving,
    load_model,
    release_heap,
    settle_heap,
)


def main() -> int:
    try:
        config = ServerConfig.from_env(os.environ)
    except ValueError as exc:
        print(f"serving: error: {exc}", file=sys.stderr)
        return 2
    if not config.storage_uri:
        print("serving: error: AIP_STORAGE_URI is not set (where is the model?)", file=sys.stderr)
        return 2
    version = os.environ.get("AIP_DEPLOYED_MODEL_ID", "unknown")
    model = compile_for_serving(load_model(config.storage_uri), version)
    app = create_app(SingleModel(model, version), config)
    settle_heap()
    try:
        uvicorn.run(
            app,
            host="0.0.0.0",  # noqa: S104 (the container is reached through its port)
            port=config.port,
            log_level="warning",
            **uvicorn_options(config),
        )
    finally:
        release_heap()
    return 0


if __name__ == "__main__":
    sys.exit(main())
