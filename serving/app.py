"""The FastAPI app: health and predict routes where the contract says, 4xx for bad input,
every predict response logged (docs/reliability.md)."""

from __future__ import annotations

import asyncio
import time
import zlib
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from kernel.text import excerpt
from serving.contract import BadRequest, ServerConfig, check_media_type, parse_body
from trainer.predict import InvalidInstance, encode_instances, format_predictions

# uvicorn's C HTTP parser and libuv event loop, named so that a missing package fails at
# start rather than falling back to h11 and asyncio. Measured (bench/serving.py, 2 runs
# each): 1,000 instances 11.5-12.0 -> 10.2-10.7 ms, single-instance p99 1.7 -> 1.3-1.5 ms,
# 20 concurrent clients p50 11-12 -> 9.3 ms.
UVICORN_OPTIONS: dict[str, Any] = {"http": "httptools", "loop": "uvloop"}
INLINE_BODY_BYTES = 48 * 1024  # about 150 census instances of JSON


def uvicorn_options(config: ServerConfig) -> dict[str, Any]:
    """uvicorn's settings for this server: connections beyond the limit get 503 at once,
    and a stop waits for requests in flight no longer than a body may take."""
    return {
        **UVICORN_OPTIONS,
        "limit_concurrency": config.max_connections,
        "timeout_graceful_shutdown": config.body_seconds + 5,
    }


class _NoLog:
    def record(self, **_record) -> None:
        pass

    def refusal(self) -> str | None:
        return None

    def problems(self) -> list[str]:
        return []


def create_app(models, config: ServerConfig, request_log=None) -> FastAPI:
    app = FastAPI(title="census income prediction", docs_url=None, redoc_url=None)
    log = request_log or _NoLog()

    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, exc: BadRequest) -> Response:
        # async: a refusal is answered on the event loop, with no hop to a worker thread
        watch = getattr(request.state, "watch", None) or Stopwatch()
        log.record(status=exc.status, latency_ms=watch.elapsed_ms(), error=exc.message)
        watch.mark("log")
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=watch.headers())

    @app.get(config.health_route)
    def health() -> Response:
        models.refresh(force=True)  # the split as it is now, not as of the last predict
        versions = models.versions()
        problems = models.problems() + log.problems()
        if not versions:
            problems = ["no model deployed", *problems]
        body = {
            "status": "degraded" if problems else "ok",
            "traffic": versions,
            "problems": problems,
            "engines": models.engines(),  # compiled trees or LightGBM, and why
        }
        return JSONResponse(body, status_code=503 if problems else 200)

    @app.post(config.predict_route)
    async def predict(request: Request) -> Response:
        watch = request.state.watch = Stopwatch()
        body = await limited_body(request, config.max_body_bytes, config.body_seconds)
        watch.mark("body")
        if scored_inline(len(body)):  # most requests: no thread hop, no GIL hand-over
            return answer(body, watch)
        return await run_in_threadpool(answer, body, watch)  # a big batch: off the loop

    def answer(body: bytes, watch: Stopwatch) -> Response:
        watch.mark("wait")  # zero inline; the wait for a worker thread otherwise
        refusal = log.refusal()
        if refusal:  # a prediction the log cannot record is not made (docs/reliability.md)
            raise BadRequest(503, refusal)
        instances = parse_body(body, config.max_instances)
        watch.mark("parse")
        try:
            matrix = encode_instances(instances, config.unknown_category)
        except InvalidInstance as exc:
            raise BadRequest(400, str(exc)) from None
        watch.mark("encode")
        deployed = models.choose()
        if deployed is None:
            raise BadRequest(503, "no model deployed")
        try:
            probabilities = deployed.model.predict_matrix(matrix)
            predictions = format_predictions(probabilities, deployed.model.threshold)
        except Exception as exc:  # a broken version: logged with its version, for the canary
            message = (
                f"version {deployed.version} failed: {type(exc).__name__}: {excerpt(str(exc))}"
            )
            log.record(
                status=500, latency_ms=watch.elapsed_ms(), version=deployed.version, error=message
            )
            return JSONResponse({"error": message}, status_code=500)
        watch.mark("score")
        log.record(
            status=200,
            latency_ms=watch.elapsed_ms(),
            version=deployed.version,
            instances=instances,
            predictions=predictions,
        )
        watch.mark("log")
        body = orjson.dumps({"predictions": predictions, "model_version": deployed.version})
        return Response(body, media_type="application/json", headers=watch.headers())

    app.add_middleware(LogUnhandled, log=log, path=config.predict_route)
    return app


class LogUnhandled:
    """An error no route expected still reaches the request log, as a 500 with its type, so
    the canary's error rate sees it."""

    def __init__(self, app: ASGIApp, log, path: str) -> None:
        self.app, self.log, self.path = app, log, path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        watch, sent = Stopwatch(), False

        async def tracking(message) -> None:
            nonlocal sent
            sent = sent or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            message = f"internal error: {type(exc).__name__}: {excerpt(str(exc))}"
            if scope.get("path") == self.path:
                self.log.record(status=500, latency_ms=watch.elapsed_ms(), error=message)
            if sent:
                raise
            await JSONResponse({"error": message}, status_code=500)(scope, receive, send)


async def limited_body(request: Request, limit: int, seconds: float = 30) -> bytes:
    check_media_type(request.headers.get("content-type"))
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise BadRequest(
            415, f"Content-Encoding {excerpt(encoding)} not supported; send gzip or none"
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BadRequest(413, f"body of {int(declared):,} bytes; at most {limit:,}")
    chunks, size = [], 0
    deadline = time.monotonic() + seconds
    stream = request.stream().__aiter__()
    while True:
        try:  # the whole body within `seconds`: a client sending a byte a minute holds nothing
            chunk = await asyncio.wait_for(stream.__anext__(), deadline - time.monotonic())
        except StopAsyncIteration:
            break
        except TimeoutError:
            raise BadRequest(408, f"body not received within {seconds:g} s") from None
        except ClientDisconnect:  # logged as the client's doing (499), never as a 500
            raise BadRequest(499, "client closed the connection before sending its body") from None
        size += len(chunk)
        if size > limit:
            raise BadRequest(413, f"body over {limit:,} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    return gunzip(body, limit) if encoding == "gzip" else body


def gunzip(body: bytes, limit: int) -> bytes:
    """A gzip body, refused once its decompressed size passes the limit (a zip bomb costs
    the limit, not the bomb)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise BadRequest(400, f"body is not valid gzip: {exc}") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise BadRequest(413, f"decompressed body over {limit:,} bytes")
    return data


def scored_inline(body_bytes: int) -> bool:
    """Whether a request is answered on the event loop: a body up to INLINE_BODY_BYTES
    (about 150 instances, about a millisecond of work) is; a bigger batch would hold every
    other request behind it, so it goes to a worker thread (docs/serving.md, "Latency")."""
    return body_bytes <= INLINE_BODY_BYTES


class Stopwatch:
    """Where one request's time went, stage by stage, sent back as a Server-Timing header
    (browsers' developer tools and bench/load.py read it)."""

    def __init__(self) -> None:
        self.started = self._last = time.perf_counter()
        self.spans: list[tuple[str, float]] = []

    def mark(self, stage: str) -> None:
        now = time.perf_counter()
        self.spans.append((stage, (now - self._last) * 1000))
        self._last = now

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    def headers(self) -> dict[str, str]:
        return {"Server-Timing": server_timing(self.spans)}


def server_timing(spans: list[tuple[str, float]]) -> str:
    """`body;dur=0.041, parse;dur=0.012, ...` in milliseconds (W3C Server Timing)."""
    return ", ".join(f"{stage};dur={ms:.3f}" for stage, ms in spans)
