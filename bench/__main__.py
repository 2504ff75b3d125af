"""`python -m bench [name ...]`: run all benchmarks, or the named ones, and print tables.

Sizes default to what fits in about three minutes per benchmark on a 2-core machine;
every size is a flag (and an environment variable, BENCH_<FLAG>, for `make bench`).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import platform
import signal
import sys
import time
from datetime import UTC, datetime

from bench import databases, processes

BENCHMARKS = {
    "tick": "scheduler tick cost at 1k vs 100k jobs, monitor check at 1k vs 10k; materialisation",
    "inspector": "1,000 DST-crossing occurrences per call",
    "throughput": "drained runs/s vs raw HTTP clients and Procrastinate",
    "latency": "start lag of jobs due at once; trigger → started",
    "memory": "worker RSS idle and at full concurrency",
    "api": "GraphQL job pages under 20 clients; subscription fan-out to 500 websockets",
    "alerts": "recording finished runs with alert rules vs without (succeeding, failing)",
}


def _env(name: str, default: str) -> str:
    return os.environ.get(f"BENCH_{name.upper()}", default)


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _engines(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    for name in names:
        if name not in databases.ENGINES:
            raise argparse.ArgumentTypeError(f"unknown engine {name!r}; use postgres,sqlite")
    return names


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="dts benchmarks: figures beside references measured in the same run.",
        epilog="benchmarks: " + "; ".join(f"{k}: {v}" for k, v in BENCHMARKS.items()),
    )
    p.add_argument("names", nargs="*", metavar="name", help="benchmarks to run (default: all)")
    p.add_argument("--engines", type=_engines, default=_engines(_env("engines", "postgres,sqlite")))
    g = p.add_argument_group("tick")
    g.add_argument("--tick-jobs", type=int, default=int(_env("tick_jobs", "100000")))
    g.add_argument("--tick-reps", type=int, default=int(_env("tick_reps", "20")))
    g.add_argument("--tick-monitors", type=int, default=int(_env("tick_monitors", "10000")))
    g.add_argument("--materialise", type=int, default=int(_env("materialise", "10000")))
    g.add_argument("--materialise-reps", type=int, default=int(_env("materialise_reps", "3")))
    g = p.add_argument_group("inspector")
    g.add_argument("--inspector-calls", type=int, default=int(_env("inspector_calls", "20")))
    g = p.add_argument_group("throughput")
    g.add_argument("--runs", type=int, default=int(_env("runs", "2000")))
    g.add_argument("--workers", type=_ints, default=_ints(_env("workers", "1,2")))
    g.add_argument("--concurrency", type=int, default=int(_env("concurrency", "16")))
    g.add_argument(
        "--no-procrastinate",
        action="store_true",
        default=_env("no_procrastinate", "") not in ("", "0"),
        help="skip the Procrastinate reference (it needs bench/.venv-ref, made on first use)",
    )
    g = p.add_argument_group("latency")
    g.add_argument("--due", type=int, default=int(_env("due", "1000")))
    g.add_argument("--triggers", type=int, default=int(_env("triggers", "200")))
    g.add_argument("--lag-concurrency", type=int, default=int(_env("lag_concurrency", "500")))
    g.add_argument(
        "--only",
        choices=("lag", "trigger"),
        default=_env("only", "") or None,
        help="latency: only the start-lag part, or only trigger → started (default: both)",
    )
    g = p.add_argument_group("api")
    g.add_argument("--api-jobs", type=int, default=int(_env("api_jobs", "10000")))
    g.add_argument("--api-clients", type=int, default=int(_env("api_clients", "20")))
    g.add_argument("--api-seconds", type=float, default=float(_env("api_seconds", "10")))
    g.add_argument("--subscribers", type=int, default=int(_env("subscribers", "500")))
    g.add_argument("--fanout-events", type=int, default=int(_env("fanout_events", "20")))
    g = p.add_argument_group("alerts")
    g.add_argument("--alert-runs", type=int, default=int(_env("alert_runs", "1000")))
    g.add_argument("--alert-jobs", type=int, default=int(_env("alert_jobs", "100")))
    g.add_argument("--alert-batch", type=int, default=int(_env("alert_batch", "50")))
    g.add_argument("--alert-reps", type=int, default=int(_env("alert_reps", "3")))
    g = p.add_argument_group("memory")
    g.add_argument("--slow-seconds", type=float, default=float(_env("slow_seconds", "2")))
    return p


async def _run(names: list[str], args: argparse.Namespace) -> None:
    if "postgres" in args.engines:
        problem = await databases.postgres_reachable()
        if problem:
            print(f"bench: {problem}; PostgreSQL figures skipped", flush=True)
            args.engines = [e for e in args.engines if e != "postgres"]
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        started = time.monotonic()
        await module.main(args)
        print(f"\n({name}: {time.monotonic() - started:.0f} s)", flush=True)


def _terminate(_signum: int, _frame: object) -> None:
    # Raised wherever the main thread is, rather than asyncio's "cancel the main task",
    # which a cancellation-swallowing await (asyncio.wait_for on 3.11) can lose.
    raise KeyboardInterrupt


def main() -> int:
    p = parser()
    args = p.parse_args()
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        p.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}")
    names = args.names or list(BENCHMARKS)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"# dts benchmarks — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} cores, load average {load} at start, "
        f"Python {platform.python_version()}, engines: {', '.join(args.engines)}",
        flush=True,
    )
    try:
        asyncio.run(_run(names, args))
    except KeyboardInterrupt:
        print("\nbench: interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        processes.stop_all()
        databases.drop_leftovers()
    return 0


if __name__ == "__main__":
    sys.exit(main())
