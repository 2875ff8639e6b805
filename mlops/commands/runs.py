"""`mlops runs`, `mlops runs compare`, `mlops lineage`, `mlops cost`: what runs did, where a
version came from, and what the platform costs (docs/lineage.md). Local workspace."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from kernel.commandline import add_json_flag, positive_int, print_json
from kernel.errors import UserError


def _records(args: argparse.Namespace):
    """Every recorded run, newest first."""
    from adapters import wiring
    from kernel.workspace import workspace_root
    from promotion.domain import runs
    from settings import load_platform, tenants_for

    platform = load_platform()
    settings = platform[args.env]
    staging_env = settings.peer if settings.role == "prod" and settings.peer else args.env
    tenants = tenants_for(platform, staging_env, local=True)
    staging = wiring.open_staging("local", str(workspace_root(args.workspace)), tenants)
    return runs.merge(staging.runs.records())


def list_runs(args: argparse.Namespace) -> int:
    from kernel.workspace import evaluation_report, run_in_progress, workspace_root
    from promotion.domain import runs

    root = workspace_root(args.workspace)
    recorded = _records(args)
    rows = runs.summary_rows(recorded, run_in_progress(root) is not None)[: args.limit]
    for row in rows:  # the evaluation report the run left, for --html's links and --json
        report = root / "reports" / evaluation_report(row["run_id"])
        row["report"] = str(report) if report.is_file() else None
    if args.html:
        from trainer import runs_report

        print(f"report: {runs_report.write(args.html, list(reversed(rows)))}")
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no runs recorded yet: `mlops run --local` records one")
        return 0
    print(
        f"{len(rows)} of {len(recorded)} recorded run(s), newest first; "
        "`mlops runs compare latest~1 latest` compares the last two"
    )
    width = max(len(r["short_id"]) for r in rows) + 2
    print(
        f"{'run':<{width}}{'started (UTC)':<18}{'commit':<14}{'rows':>7}{'quar.':>6}"
        f"{'accuracy':>9}{'ROC AUC':>9}  {'outcome':<17}{'version':>7}{'cost $':>8}  trainer"
    )
    for r in rows:
        print(
            f"{r['short_id']:<{width}}{r['started'][:16].replace('T', ' '):<18}"
            f"{(r['commit'] or '-')[:13]:<14}{_n(r['train_rows']):>7}{_n(r['quarantined']):>6}"
            f"{_f(r['accuracy']):>9}{_f(r['roc_auc']):>9}  {r['outcome']:<17}"
            f"{r['version'] or '-':>7}{_f(r['cost_usd']):>8}  {r['trainer'] or '-'}"
        )
        if r["error"]:
            print(f"{'':<{width}}{r['error']}")
    return 0


def compare(args: argparse.Namespace) -> int:
    from promotion.domain import runs

    recorded = _records(args)
    try:
        a, b = runs.find(recorded, args.a), runs.find(recorded, args.b)
    except LookupError as exc:
        raise UserError(str(exc)) from None
    differences = runs.compare(a, b)
    if args.json:
        print_json(
            {
                "a": a.run_id,
                "b": b.run_id,
                "differences": [
                    {"section": d.section, "key": d.key, "a": d.a, "b": d.b, "changed": d.changed}
                    for d in differences
                ],
            }
        )
        return 0
    changed = [d for d in differences if d.changed]
    print(f"A {a.run_id}\nB {b.run_id}")
    print(f"\n{len(changed)} of {len(differences)} values differ:")
    for d in changed:
        print(_difference(d))
    same = [d for d in differences if not d.changed]
    if same and args.all:
        print(f"\n{len(same)} the same:")
        for d in same:
            print(f"  {d.section:<11}{d.key} = {_show(d.a)}")
    elif same:
        print(f"\n{len(same)} the same (--all lists them)")
    return 0


def _difference(d) -> str:
    """One changed value, whole: on one line when both sides fit, else one line each."""
    a, b = _show(d.a), _show(d.b)
    if len(a) + len(b) + len(d.key) <= 80:
        return f"  {d.section:<11}{d.key:<36} {a}  ->  {b}"
    return f"  {d.section:<11}{d.key}\n{'':<13}A: {a}\n{'':<13}B: {b}"


def lineage(args: argparse.Namespace) -> int:
    from adapters import wiring
    from mlops.commands.serving import _local_prod
    from promotion.domain import runs

    _, prod, _, tenants = _local_prod(args)
    version = next((v for v in prod.registry.versions() if v.version == args.version), None)
    if version is None:
        known = ", ".join(v.version for v in prod.registry.versions()) or "none"
        raise UserError(
            f"no version {args.version!r} in the local prod registry (versions: {known})"
        )
    recorded = _records(args)
    run = runs.run_of(version.version, version.labels, recorded)
    # alerts from the run that deployed it on (a version never recorded: all of them)
    since = run.started if run is not None else datetime.min.replace(tzinfo=UTC)
    alerts = wiring.alert_log(args.workspace, tenants).alerts(since)
    alerts = [a for a in alerts if version.version in a["traffic"]]
    chain = runs.lineage(
        version.version, version.labels, run, prod.endpoint.state().traffic, alerts
    )
    if args.json:
        print_json(chain)
        return 0
    print(f"version {chain['version']}")
    print(f"  commit   : {chain['commit']}")
    recorded_note = (
        "" if chain["run_recorded"] else " (no run record: made before runs were recorded)"
    )
    print(f"  run      : {chain['run']}{recorded_note}")
    for split, d in chain["data"].items():
        print(
            f"  data     : {split} {d.get('uri')} {d.get('checksum', '')[:23]} "
            f"{_n(d.get('rows'))} rows, {_n(d.get('quarantined'))} quarantined"
        )
    if chain["metrics"]:
        m = chain["metrics"]
        print(
            f"  model    : accuracy {_f(m.get('accuracy'))}, ROC AUC {_f(m.get('roc_auc'))}"
            f" ({chain['trainer'] or 'trainer not recorded'})"
        )
    if chain["decision"]:
        print(f"  decision : {chain['decision']['outcome']}: {chain['decision']['reason']}")
    split = ", ".join(f"v{v} {p}%" for v, p in chain["endpoint"]["split"].items()) or "none"
    print(f"  endpoint : {chain['endpoint']['traffic_percent']}% of traffic ({split})")
    print(f"  alerts   : {len(alerts)} since deployed" + ("" if alerts else " (none)"))
    for a in alerts:
        print(
            f"    {a['analysed_at']} {a['feature']} {a['measure']} "
            f"{_f(a['distance'])} > {a['threshold']}"
        )
    return 0


def cost(args: argparse.Namespace) -> int:
    from kernel.workspace import LocalTenant, workspace_root
    from promotion.domain import cost as estimate
    from settings import load_platform, load_prices

    platform, prices = load_platform(), load_prices()
    settings = platform[args.env]
    if settings.role != "prod" or settings.serving is None or settings.monitoring is None:
        raise UserError(f"{args.env} is a {settings.role} env; the monthly cost is prod's")
    tenant = LocalTenant(workspace_root(args.workspace), settings.project_id)
    buckets = tenant.path / "buckets"
    stored = (
        sum(p.stat().st_size for p in buckets.rglob("*") if p.is_file()) if buckets.exists() else 0
    )
    month = estimate.monthly_cost(
        prices,
        rollout=settings.serving.rollout,
        monitoring=settings.monitoring_settings(),
        predictions_per_day=settings.serving.expected_predictions_per_day,
        stored_bytes=stored,
        kms_keys=len(settings.kms.keys),
    )
    recorded = _records(args)
    last = next((r for r in recorded if r.get("run", "cost")), None)
    out = {"monthly": month.as_dict(), "last_run": last.get("run", "cost") if last else None}
    if args.json:
        print_json(out)
        return 0
    _print_estimate(month.as_dict())
    print(f"  (storage measured in the local prod tenant: {stored / 1e6:.1f} MB)")
    if last:
        print(f"\nlast run, {last.run_id}:")
        _print_estimate(last.get("run", "cost"))
    return 0


def _print_estimate(e: dict) -> None:
    print(f"{e['title']}: ${e['total_usd']:,.2f}")
    for line in e["lines"]:
        print(
            f"  {line['item'][:62]:<62} {line['quantity']:>12,.4f} {line['unit']:<18}"
            f" x ${line['unit_usd']:<9g} = ${line['usd']:>9,.4f}"
        )
    for note in e["notes"]:
        print(f"  note: {note}")


def _n(value) -> str:
    return f"{value:,}" if isinstance(value, int) else "-"


def _f(value) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "-"


def _show(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "-" if value is None else str(value)


def add(commands) -> None:
    def common(p, env: str = "staging") -> None:
        p.add_argument("--env", default=env, help=f"the env whose runs (default: {env})")
        p.add_argument("--workspace", help="local workspace (default .mlops or $MLOPS_WORKSPACE)")
        add_json_flag(p)

    r = commands.add_parser("runs", help="recent runs with their figures and decisions")
    common(r)
    r.add_argument("--limit", type=positive_int, default=20, help="how many runs (default 20)")
    r.add_argument("--html", help="also write the metrics-across-runs report to this file")
    r.set_defaults(handler=list_runs)
    sub = r.add_subparsers(dest="action", metavar="ACTION", parser_class=type(r))
    c = sub.add_parser("compare", help="two runs side by side: parameters, data, metrics")
    common(c)
    c.add_argument("a", help="a run: its id, short id, or latest / latest~N (N runs before)")
    c.add_argument("b", help="the other run, the same ways")
    c.add_argument("--all", action="store_true", help="also list the values that are the same")
    c.set_defaults(handler=compare)

    lin = commands.add_parser("lineage", help="commit -> run -> data -> model -> endpoint")
    common(lin, env="prod")
    lin.add_argument("version", help="a version of the local prod registry")
    lin.set_defaults(handler=lineage)

    co = commands.add_parser("cost", help="prod's monthly cost and the last run's")
    common(co, env="prod")
    co.set_defaults(handler=cost)
