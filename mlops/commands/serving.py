"""`mlops serve`, `mlops monitor`, `mlops canary`: the local prod endpoint and its analyses."""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mlops.errors import UserError


def _prod(args: argparse.Namespace):
    from infra.settings import load_platform
    from pipelines.local.workspace import LocalTenant, workspace_root

    platform = load_platform()
    settings = platform[args.env]
    if settings.role != "prod":
        raise UserError(f"{args.env} is a {settings.role} env; the endpoint lives in prod")
    return platform, settings, LocalTenant(workspace_root(args.workspace), settings.project_id)


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from serving.app import create_app
    from serving.contract import ServerConfig
    from serving.models import TrafficRouter
    from serving.request_log import RequestLog

    _, _settings, tenant = _prod(args)
    try:
        config = ServerConfig.from_env(os.environ)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    port = args.port or config.port
    router = TrafficRouter(tenant)
    if not router.versions():
        raise UserError(
            f"nothing is deployed on the local {args.env} endpoint "
            f"({tenant.path}); run `mlops run --local` first"
        )
    log = RequestLog(tenant.warehouse_path)
    app = create_app(router, config, log)
    print(
        f"serving the local {args.env} endpoint on http://{args.host}:{port}"
        f"{config.predict_route} (health {config.health_route}); traffic "
        f"{router.versions()}; request log {tenant.warehouse_path}",
        flush=True,
    )
    try:
        uvicorn.run(app, host=args.host, port=port, log_level="warning")
    finally:
        log.close()
        print(f"request log: {log.written:,} rows written", flush=True)
    return 0


def monitor(args: argparse.Namespace) -> int:
    from monitoring import monitor as mon
    from pipelines.local.prod import MONITORING
    from pipelines.params import feature_thresholds

    _, settings, tenant = _prod(args)
    config = tenant.read_state(MONITORING, None)
    if config is None:
        raise UserError(
            f"no monitoring configured on the local {args.env} endpoint; "
            "the pipeline's monitor step creates it (mlops run --local)"
        )
    baseline = json.loads(Path(config["baseline_uri"]).read_text())
    m = settings.monitoring  # thresholds: settings, via the pipeline's own function
    window = mon.parse_window(args.window) if args.window else timedelta(hours=m.interval_hours)
    until = datetime.fromisoformat(args.until) if args.until else None
    results, report = mon.run(
        warehouse=tenant.warehouse_path,
        baseline=baseline,
        skew_thresholds=feature_thresholds(m.skew_threshold, m.feature_thresholds),
        drift_thresholds=feature_thresholds(m.drift_threshold, m.feature_thresholds),
        window=window,
        until=until,
        report_dir=tenant.path / "reports",
    )
    print(mon.table(results))
    print(f"report: {report}")
    alerted = [f"{r.feature} ({r.measure})" for r in results if r.alert]
    if alerted:
        raise mon.Alerted(f"{len(alerted)} alert(s): {', '.join(alerted)}")
    return 0


def canary(args: argparse.Namespace) -> int:
    import duckdb

    from monitoring import canary as can
    from pipelines import backends

    _, settings, tenant = _prod(args)
    s = settings.serving
    prod = backends.open_prod(
        "local",
        workspace=str(tenant.path.parent),
        project=settings.project_id,
        region=settings.region,
        endpoint_id=s.endpoint_id,
        deployer_service_account="",
    )
    champion, challenger = prod.registry.alias("champion"), prod.registry.alias("challenger")
    if champion is None or challenger is None:
        raise UserError("no canary to judge: the endpoint has no challenger version")
    end = datetime.fromisoformat(args.until) if args.until else _utc_now()
    start = end - timedelta(minutes=args.window_minutes or s.canary_window_minutes)
    if not tenant.warehouse_path.exists():
        raise UserError("no request log yet: serve traffic first (mlops serve)")
    with duckdb.connect(str(tenant.warehouse_path), read_only=True) as con:
        stats = can.stats_from_log(con, start, end)
    empty = can.VersionStats
    verdict = can.judge(
        stats.get(champion.version, empty(champion.version, 0, 0, None, None)),
        stats.get(challenger.version, empty(challenger.version, 0, 0, None, None)),
        can.Criteria(
            s.canary_min_requests, s.canary_max_error_rate_increase, s.canary_max_latency_ratio
        ),
    )
    print(
        f"canary v{challenger.version} vs champion v{champion.version}: "
        f"{verdict.action.upper()}: {verdict.reason}"
    )
    traffic, undeploy = can.plan(
        prod.endpoint.state(), champion.version, challenger.version, verdict, s.versions_kept
    )
    if verdict.action == "wait":
        return 0
    prod.endpoint.set_traffic(traffic)
    if verdict.action == "promote":
        prod.registry.set_alias("champion", challenger.version)
    prod.registry.set_alias("challenger", None)
    for version in undeploy:
        prod.endpoint.undeploy(version)
    print(
        f"endpoint traffic now {traffic}"
        + (f"; undeployed {', '.join(undeploy)}" if undeploy else "")
    )
    return 0


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # the log stores naive UTC


def add(commands, env_default: str = "prod") -> None:
    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--env", default=env_default, help="the prod env (default prod)")
        sub.add_argument(
            "--workspace", help="local tenants' folder (default $MLOPS_WORKSPACE or .mlops)"
        )

    s = commands.add_parser("serve", help="serve the local prod endpoint (Vertex contract)")
    common(s)
    s.add_argument("--port", type=int, help="port (default $AIP_HTTP_PORT or 8080)")
    s.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    s.set_defaults(handler=serve)

    m = commands.add_parser("monitor", help="skew and drift of logged traffic; non-zero on alert")
    common(m)
    m.add_argument("--window", help="window length like 30m, 1h, 2d (default: settings)")
    m.add_argument("--until", help="end of the window, ISO time in UTC (default now)")
    m.set_defaults(handler=monitor)

    c = commands.add_parser("canary", help="promote the challenger or roll it back")
    common(c)
    c.add_argument("--window-minutes", type=int, help="canary window (default: settings)")
    c.add_argument("--until", help="end of the window, ISO time in UTC (default now)")
    c.set_defaults(handler=canary)
