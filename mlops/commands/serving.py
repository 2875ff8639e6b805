"""`mlops serve`, `mlops monitor`, `mlops canary`: the local prod endpoint and its analyses."""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kernel.errors import UserError


def _prod(args: argparse.Namespace, target: str = "local"):
    """(prod settings, prod's services on `target`, its local tenant folder)."""
    from adapters import wiring
    from adapters.local.workspace import LocalTenant, workspace_root
    from settings import load_platform, tenants_for

    platform = load_platform()
    settings = platform[args.env]
    if settings.role != "prod" or settings.peer is None:
        raise UserError(f"{args.env} is a {settings.role} env; the endpoint lives in prod")
    root = workspace_root(args.workspace)
    tenants = tenants_for(platform, settings.peer, local=target == "local")
    prod = wiring.open_prod(target, str(root), tenants)
    return settings, prod, LocalTenant(root, settings.project_id)


def _local_prod(args: argparse.Namespace):
    return _prod(args, "local")


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from adapters.local.request_log import RequestLog
    from serving.app import create_app
    from serving.contract import ServerConfig
    from serving.models import TrafficRouter

    _, prod, tenant = _local_prod(args)
    try:
        config = ServerConfig.from_env(os.environ)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    port = args.port or config.port
    router = TrafficRouter(prod.endpoint, prod.registry)
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

    settings, prod, tenant = _local_prod(args)
    config = prod.monitoring.current()
    if config is None:
        raise UserError(
            f"no monitoring configured on the local {args.env} endpoint; "
            "the pipeline's monitor step creates it (mlops run --local)"
        )
    baseline = json.loads(Path(config["baseline_uri"]).read_text())
    m = settings.monitoring_settings()  # the thresholds the Vertex job gets, from settings
    window = mon.parse_window(args.window) if args.window else timedelta(hours=m.interval_hours)
    until = datetime.fromisoformat(args.until) if args.until else None
    results, report = mon.run(
        warehouse=tenant.warehouse_path,
        baseline=baseline,
        skew_thresholds=m.thresholds("skew"),
        drift_thresholds=m.thresholds("drift"),
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
    from promotion.steps import conclude_canary

    settings, prod, _ = _prod(args, args.target)
    s = settings.serving_settings()
    criteria = s.canary
    if args.window_minutes:
        criteria = criteria.model_copy(update={"window_minutes": args.window_minutes})
    outcome = conclude_canary(
        registry=prod.registry,
        endpoint=prod.endpoint,
        monitoring=prod.monitoring,
        criteria=criteria,
        versions_kept=s.rollout.versions_kept,
        window_end=datetime.fromisoformat(args.until) if args.until else _utc_now(),
    )
    verdict = outcome.verdict
    print(
        f"canary v{outcome.challenger} vs champion v{outcome.champion}: "
        f"{verdict.action.upper()}: {verdict.reason}"
    )
    if verdict.action != "wait":
        undeployed = outcome.undeployed
        print(
            f"endpoint traffic now {outcome.traffic}"
            + (f"; undeployed {', '.join(undeployed)}" if undeployed else "")
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
    c.add_argument(
        "--target",
        choices=("local", "vertex"),
        default="local",
        help="the local endpoint, or Vertex AI's as the prod deployer (default local)",
    )
    c.add_argument("--window-minutes", type=int, help="canary window (default: settings)")
    c.add_argument("--until", help="end of the window, ISO time in UTC (default now)")
    c.set_defaults(handler=canary)
