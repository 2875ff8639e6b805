"""The FastAPI app: health and predict routes where the contract says, 4xx for bad input."""

from __future__ import annotations

import time

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from serving.contract import BadRequest, ServerConfig, parse_body
from trainer.predict import InvalidInstance, encode_instances, format_predictions


def create_app(models, config: ServerConfig, request_log=None) -> FastAPI:
    app = FastAPI(title="census income prediction", docs_url=None, redoc_url=None)

    def log(**record) -> None:
        if request_log is not None:
            request_log.record(**record)

    @app.get(config.health_route)
    def health() -> Response:
        versions = models.versions()
        status = 200 if versions else 503
        return JSONResponse(
            {"status": "ok" if versions else "no model deployed", "traffic": versions},
            status_code=status,
        )

    @app.post(config.predict_route)
    async def predict(request: Request) -> Response:
        started = time.perf_counter()
        instances = None
        try:
            instances = parse_body(await request.body(), config.max_instances)
            matrix = encode_instances(instances, config.unknown_category)
        except (BadRequest, InvalidInstance) as exc:
            status = exc.status if isinstance(exc, BadRequest) else 400
            message = str(exc)
            log(status=status, latency_ms=_ms(started), error=message)
            return JSONResponse({"error": message}, status_code=status)
        deployed = models.choose()
        if deployed is None:
            log(status=503, latency_ms=_ms(started), error="no model deployed")
            return JSONResponse({"error": "no model deployed"}, status_code=503)
        probabilities = deployed.model.predict_matrix(matrix)
        predictions = format_predictions(probabilities, deployed.model.threshold)
        log(
            status=200,
            latency_ms=_ms(started),
            version=deployed.version,
            instances=instances,
            predictions=predictions,
        )
        body = orjson.dumps({"predictions": predictions, "model_version": deployed.version})
        return Response(body, media_type="application/json")

    return app


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
