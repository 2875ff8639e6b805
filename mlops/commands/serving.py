"""`mlops serve`, `mlops monitor`, `mlops canary`: the local prod endpoint and its analyses."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kernel import exit_codes
from kernel.commandline import add_json_flag, positive_int, print_json
from kernel.errors import Damaged, Failed, UserError


def _prod(args: argparse.Namespace, target: str = "local", as_: str = "deployer", **tenant):
    """(prod settings, prod's services on `target` as `as_`, its local tenant folder, the
    tenants); `tenant`: Tenants fields to override (the serving image an approval names)."""
    from adapters import wiring
    from kernel.workspace import LocalTenant, workspace_root
    from settings import load_platform, tenants_for

    platform = load_platform()
    settings = platform[args.env]
    if settings.role != "prod" or settings.peer is None:
        raise UserError(f"{args.env} is a {settings.role} env; the endpoint lives in prod")
    root = workspace_root(args.workspace)
    tenants = tenants_for(platform, settings.peer, local=target == "local")
    tenants = tenants.model_copy(update=tenant)
    prod = wiring.open_prod(target, str(root), tenants, as_=as_)
    return settings, prod, LocalTenant(root, settings.project_id), tenants


def _local_prod(args: argparse.Namespace):
    return _prod(args, "local")


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from adapters import wiring
    from serving.app import create_app, uvicorn_options
    from serving.contract import ServerConfig
    from serving.dashboard import add_dashboard
    from serving.device_app import add_device_app, serving_device_model
    from serving.models import TrafficRouter, release_heap, settle_heap
    from settings import REPO_ROOT

    _, prod, tenant, tenants = _local_prod(args)
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
    listening = _listen(args.host, port)  # before anything is opened or announced
    log = wiring.open_request_log(args.workspace, tenants)
    app = create_app(router, config, log)
    ort_dir = REPO_ROOT / "node_modules" / "onnxruntime-web" / "dist"
    add_device_app(app, serving_device_model(prod.endpoint, prod.registry), ort_dir)
    add_dashboard(app, _dashboard_sources(args, prod, tenant, tenants))
    settle_heap()
    print(
        f"serving the local {args.env} endpoint on http://{args.host}:{port}"
        f"{config.predict_route} (health {config.health_route}); traffic "
        f"{router.versions()}; request log {tenant.request_log_path}; dashboard "
        f"http://{args.host}:{port}/; on-device app http://{args.host}:{port}/app/",
        flush=True,
    )
    server = _server_class()(
        uvicorn.Config(
            app, host=args.host, port=port, log_level="warning", **uvicorn_options(config)
        )
    )
    router.follow()  # the split re-read off the requests' path
    try:
        server.run(sockets=[listening])
    finally:
        router.unfollow()
        release_heap()
        log.close()
        stopped = f" (stopped by {', '.join(server.stopped_by)})" if server.stopped_by else ""
        print(f"request log: {log.written:,} rows written{stopped}", flush=True)
    if log.lost:  # the stop could not write them: not a clean stop
        why = log.failure or "dropped with the backlog full"
        raise Failed(
            f"request log: {log.lost:,} rows could not be written ({why}); the responses "
            "they record were sent"
        )
    return 0


def _dashboard_sources(args: argparse.Namespace, prod, tenant, tenants):
    """What the dashboard reads: prod's endpoint and registry, staging's run records and
    candidates, the alerts and the reports, all in the local workspace."""
    from adapters import wiring
    from kernel.workspace import run_in_progress, workspace_root
    from serving.dashboard import Sources

    root = workspace_root(args.workspace)
    staging = wiring.open_staging("local", str(root), tenants)
    return Sources(
        env=args.env,
        workspace=root,
        reports=root / "reports",
        monitor_reports=tenant.path / "reports",
        endpoint=prod.endpoint,
        registry=prod.registry,
        run_log=staging.runs,
        storage=staging.storage,
        alerts=wiring.alert_log(args.workspace, tenants),
        running=lambda: run_in_progress(root) is not None,
    )


class PortInUse(UserError):
    exit_code = exit_codes.PORT_IN_USE


def _listen(host: str, port: int):
    """The server's socket, bound now: a taken address is one line and exit 7, before the
    request log is opened or anything claims to serve."""
    import socket

    if not 1 <= port <= 65535:
        raise UserError(f"port {port} is outside 1..65535 (--port, or AIP_HTTP_PORT)")
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listening = socket.socket(family, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UserError(f"--host {host!r}: {exc}") from None
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
    try:
        listening.bind((host, port))
    except OSError as exc:
        listening.close()
        raise PortInUse(
            f"cannot listen on {host}:{port}: {exc.strerror} (another server, or `mlops serve` "
            "still running: stop it, or choose --port)"
        ) from None
    return listening


def port_number(text: str) -> int:
    """--port: a TCP port, 1..65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is outside 1..65535")
    return port


def _server_class():
    """uvicorn's Server, except that the SIGTERM or SIGINT that stopped it is not raised
    again once it has shut down: uvicorn does that, and the process then dies before the
    request log is closed (exit 143). Here the stop is finished by `serve` and exits 0."""
    import contextlib
    import signal

    import uvicorn

    class Server(uvicorn.Server):
        stopped_by: tuple[str, ...] = ()

        @contextlib.contextmanager
        def capture_signals(self):
            with super().capture_signals():
                yield
                self.stopped_by = tuple(signal.Signals(s).name for s in self._captured_signals)
                self._captured_signals.clear()  # what uvicorn would raise again on exit

    return Server


def monitor(args: argparse.Namespace) -> int:
    from adapters import wiring
    from monitoring import monitor as mon

    settings, prod, tenant, tenants = _local_prod(args)
    config = prod.monitoring.current()
    if config is None:
        raise UserError(
            f"no monitoring configured on the local {args.env} endpoint; "
            "the pipeline's monitor step creates it (mlops run --local)"
        )
    baseline = _read_baseline(config.baseline_uri)
    mon.check_baseline(baseline, config.baseline_uri)
    m = settings.monitoring_settings()  # the thresholds the Vertex job gets, from settings
    window = mon.parse_window(args.window) if args.window else timedelta(hours=m.interval_hours)
    until = datetime.fromisoformat(args.until) if args.until else None
    requests = wiring.logged_requests(args.workspace, tenants)
    for problem in requests.problems():  # judged without them, and said so
        print(f"warning: {problem}", file=sys.stderr)
    results, windows, report = mon.run(
        requests=requests,
        baseline=baseline,
        skew_thresholds=m.thresholds("skew"),
        drift_thresholds=m.thresholds("drift"),
        window=window,
        until=until,
        report_dir=tenant.path / "reports",
        min_rows=args.min_rows or m.min_window_rows,
    )
    found = [r for r in results if r.alert]
    if args.json:
        print_json(mon.as_json(results, windows, report))
    else:
        print(windows.line())
        print(mon.table(results))
        print(f"report: {report}")
    wiring.alert_log(args.workspace, tenants).record_alerts(  # `mlops lineage` shows them
        until or datetime.now(UTC),
        [
            {
                "feature": r.feature,
                "measure": r.measure,
                "distance": r.distance,
                "threshold": r.threshold,
            }
            for r in found
        ],
        prod.endpoint.state().traffic,
    )
    alerted = [f"{r.feature} ({r.measure})" for r in found]
    if alerted:
        raise mon.Alerted(f"{len(alerted)} alert(s): {', '.join(alerted)}")
    return 0


def _read_baseline(uri: str) -> dict:
    """The skew baseline the monitor step pointed monitoring at, or one line saying why not."""
    try:
        baseline = json.loads(Path(uri).read_text())
    except FileNotFoundError:
        raise Damaged(
            f"{uri}: the skew baseline is missing; run the pipeline again to write one"
        ) from None
    except (OSError, ValueError) as exc:  # unreadable, not JSON, not UTF-8
        raise Damaged(
            f"{uri}: the skew baseline cannot be read ({exc}); run the pipeline again to write one"
        ) from None
    if not isinstance(baseline, dict):
        raise Damaged(f"{uri}: the skew baseline is not a JSON object")
    return baseline


def _sha256_hex(text: str) -> str:
    if not (len(text) == 64 and all(c in "0123456789abcdef" for c in text)):
        raise argparse.ArgumentTypeError(f"{text!r} is not a SHA-256 (64 lowercase hex digits)")
    return text


def deploy(args: argparse.Namespace) -> int:
    """Deploy a candidate a run approved (promotion = "approval"): prod's deploy trigger runs
    this as the prod deployer, after a person approved the build."""
    from adapters import wiring
    from kernel.workspace import workspace_root
    from promotion.domain.layout import candidate_under
    from promotion.steps.approval import read_approval, require_digest

    as_ = "self" if args.target == "vertex" else "deployer"
    _, reader, _, tenants = _prod(args, args.target, as_)
    root = wiring.staged_candidates(args.target, str(workspace_root(args.workspace)), tenants)
    candidate = candidate_under(args.candidate, root)
    with reader.refusals():
        approval = read_approval(reader.storage, candidate.uri)
        require_digest(approval, args.digest)
        return _deploy_approved(args, as_, approval)


def _deploy_approved(args: argparse.Namespace, as_: str, approval) -> int:
    from pipelines import context

    # reopened with the approval's image: the registry registers versions with it
    image = {} if args.target == "local" else {"serving_image": approval.serving_image}
    settings, prod, _, tenants = _prod(args, args.target, as_, **image)
    out = sys.stderr if args.json else sys.stdout  # --json: stdout is the document
    print(
        f"deploying {approval.candidate_uri} (run {approval.run_id}, commit {approval.commit})",
        file=out,
    )
    done = context.deploy(
        prod,
        candidate_uri=approval.candidate_uri,
        run_id=approval.run_id,
        commit=approval.commit,
        rollout=settings.serving_settings().rollout,
        log=lambda line: print(f"deploy: {line}", flush=True, file=out),
        approved=approval.files,
    )
    _, action = context.monitor(prod, tenants, done.baseline_uri, settings.monitoring_settings())
    if args.json:
        print_json(
            {"candidate": approval.candidate_uri, "run_id": approval.run_id,
             "version": done.version, "smoke": done.smoke, "traffic": done.traffic,
             "monitoring": action}
        )  # fmt: skip
        return 0
    traffic = ", ".join(f"v{v} {p}%" for v, p in done.traffic.items())
    print(
        f"deployed version {done.version} (smoke test {done.smoke}); endpoint "
        f"{traffic}; monitoring {action}"
    )
    return 0


def canary(args: argparse.Namespace) -> int:
    settings, prod, _, _ = _prod(args, args.target, "self" if args.as_self else "deployer")
    with prod.refusals(), prod.changing("mlops canary"):  # never inside a deploy
        return _judge(args, settings, prod)


def _judge(args: argparse.Namespace, settings, prod) -> int:
    from promotion.steps.canary import conclude_canary
    from promotion.steps.rollback import finish_interrupted_deploy

    s = settings.serving_settings()
    finish_interrupted_deploy(  # a deploy killed part way: completed or rolled back
        registry=prod.registry,
        endpoint=prod.endpoint,
        storage=prod.storage,
        prod=prod.layout,
        log=lambda line: print(line, flush=True, file=sys.stderr if args.json else sys.stdout),
    )
    criteria = s.canary
    if args.window_minutes:
        criteria = criteria.model_copy(update={"window_minutes": args.window_minutes})
    outcome = conclude_canary(
        registry=prod.registry,
        endpoint=prod.endpoint,
        figures=prod.figures,
        criteria=criteria,
        versions_kept=s.rollout.versions_kept,
        window_end=datetime.fromisoformat(args.until) if args.until else _utc_now(),
    )
    verdict = outcome.verdict
    if args.json:
        print_json(
            {
                "champion": outcome.champion,
                "challenger": outcome.challenger,
                "action": verdict.action,
                "reason": verdict.reason,
                "traffic": outcome.traffic,
                "undeployed": outcome.undeployed,
            }
        )
        return CANARY_EXIT[verdict.action]
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
    return CANARY_EXIT[verdict.action]


# one code per verdict, so a scheduler can tell them apart (docs/reliability.md)
CANARY_EXIT = {
    "promote": exit_codes.OK,
    "rollback": exit_codes.ROLLED_BACK,
    "wait": exit_codes.WAIT,
}


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
    s.add_argument("--port", type=port_number, help="port (default $AIP_HTTP_PORT or 8080)")
    s.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    s.set_defaults(handler=serve)

    m = commands.add_parser("monitor", help="skew and drift of logged traffic; non-zero on alert")
    common(m)
    m.add_argument("--window", help="window length like 30m, 1h, 2d (default: settings)")
    m.add_argument("--until", help="end of the window, ISO time in UTC (default now)")
    m.add_argument(
        "--min-rows",
        type=positive_int,
        help="judge no window of fewer logged rows (default: min_window_rows in the settings)",
    )
    add_json_flag(m)
    m.set_defaults(handler=monitor)

    c = commands.add_parser("canary", help="promote the challenger or roll it back")
    common(c)
    c.add_argument(
        "--target",
        choices=("local", "vertex"),
        default="local",
        help="the local endpoint, or Vertex AI's as the prod deployer (default local)",
    )
    c.add_argument(
        "--as-self",
        action="store_true",
        help="on Vertex, as the caller's own identity (prod's trigger runs as the deployer) "
        "instead of impersonating the deployer",
    )
    c.add_argument("--window-minutes", type=int, help="canary window (default: settings)")
    c.add_argument("--until", help="end of the window, ISO time in UTC (default now)")
    add_json_flag(c)
    c.set_defaults(handler=canary)

    d = commands.add_parser(
        "deploy", help='deploy a candidate a run approved (promotion = "approval")'
    )
    common(d)
    d.add_argument("--candidate", required=True, help="the candidate's URI the run printed")
    d.add_argument(
        "--digest",
        type=_sha256_hex,
        help="the approved digest (the message's, shown on the pending build): the approval "
        "record must carry it",
    )
    d.add_argument(
        "--target",
        choices=("local", "vertex"),
        default="local",
        help="the local endpoint, or Vertex AI's as the caller (the prod deployer)",
    )
    add_json_flag(d)
    d.set_defaults(handler=deploy)
