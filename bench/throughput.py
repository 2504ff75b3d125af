"""End-to-end throughput: queued no-op HTTP runs drained per second by N worker processes.

Every configuration gets a fresh database and `N` queued runs (one per job) inserted in
one transaction while the workers are already running; the clock stops at the last
`finished_at`. After draining, every run is checked to be fully recorded: `succeeded`,
started and finished times, HTTP status 200, at least one log line in run_logs, and its
`run.finished` event.

References, measured in the same invocation against the same target with the same number
of processes and 16 requests in flight per process:
- raw httpx loop (the client ceiling the design targets are stated against);
- raw aiohttp loop (is the client the ceiling?);
- dts's own HTTP executors in a loop, no database (the executor's share of the cost),
  side by side: HttpExecutor (httpx) and AiohttpExecutor (aiohttp, the default);
- Procrastinate 3 (PostgreSQL), a task doing the same GET with httpx, N deferred jobs.
"""

from __future__ import annotations

import argparse

from bench import report
from bench.databases import fresh_database
from bench.drain import Drained, drain_clients, drain_dts, drain_procrastinate
from bench.processes import start_target
from bench.reference.environment import main_has_sniffio, versions


def _cpu(result: Drained, seconds: float) -> str:
    value = result.per_run_ms(seconds)
    return "–" if value != value else f"{value:.2f} ms"


def _row(workers: int, system: str, result: Drained, raw: Drained, ref: Drained | None) -> list:
    return [
        workers,
        system,
        report.rate(result.rate),
        report.ratio(result.rate, raw.rate),
        report.ratio(result.rate, ref.rate) if ref else "–",
        _cpu(result, result.client_cpu),
        _cpu(result, result.db_cpu),
        "–" if result.commits != result.commits else f"{result.commits / result.count:.1f}",
        f"{result.recorded:,}/{result.count:,}",
    ]


async def main(args: argparse.Namespace) -> None:
    total, concurrency = args.runs, args.concurrency
    report.note(
        f"\n## throughput — {total:,} queued no-op HTTP runs, {concurrency} in flight per "
        f"process, 1-process uvicorn target on loopback"
    )
    if not args.no_procrastinate:
        report.note(f"reference environment: {versions()}")
    if not main_has_sniffio():
        report.note(
            "note: sniffio is not installed, so httpcore retries `import sniffio` on every "
            "request (a sys.path search); the 'sniffio importable' row shows the difference"
        )
    target = await start_target()
    rows: list[list] = []
    summary: list[list] = []
    try:
        for workers in args.workers:
            same = (target.url, total, workers, concurrency)
            raw = await drain_clients("httpx", *same)
            aio = await drain_clients("aiohttp", *same)
            executor = await drain_clients("executor", *same)
            executor_aiohttp = await drain_clients("executor-aiohttp", *same)
            sniffio = None
            if not main_has_sniffio():
                sniffio = await drain_clients("httpx", *same, with_sniffio=True)
            ref = None
            if not args.no_procrastinate and "postgres" in args.engines:
                ref = await drain_procrastinate(*same)
            rows.append(_row(workers, "raw httpx loop (client ceiling)", raw, raw, ref))
            if sniffio:
                rows.append(_row(workers, "raw httpx loop, sniffio importable", sniffio, raw, ref))
            rows.append(_row(workers, "raw aiohttp loop", aio, raw, ref))
            rows.append(
                _row(workers, "dts HttpExecutor (httpx) loop, no database", executor, raw, ref)
            )
            rows.append(
                _row(
                    workers,
                    "dts AiohttpExecutor loop, no database",
                    executor_aiohttp,
                    raw,
                    ref,
                )
            )
            if ref:
                rows.append(_row(workers, "Procrastinate (PostgreSQL)", ref, raw, ref))
            for engine in args.engines:
                async with fresh_database(engine) as db:
                    result = await drain_dts(db, *same)
                rows.append(_row(workers, f"**dts ({engine})**", result, raw, ref))
                if result.recorded != total:
                    report.note(f"dts {engine}, {workers} worker(s): {result.detail}")
                vs_ref = result.rate / ref.rate if ref and engine == "postgres" else None
                vs_raw = result.rate / raw.rate
                summary.append(
                    [
                        workers,
                        engine,
                        report.rate(result.rate),
                        report.ratio(result.rate, ref.rate) if vs_ref else "–",
                        report.verdict(vs_ref >= 1.5 if vs_ref else None),
                        report.ratio(result.rate, raw.rate),
                        report.verdict(vs_raw >= 0.8),
                        report.verdict(result.recorded == total),
                    ]
                )
            report.note(f"… {workers} worker process(es) done")
    finally:
        await target.stop()
    report.show(
        "Drained runs/s (ratios against the raw httpx loop and Procrastinate, same processes; "
        "CPU per run: the worker or client processes, and the PostgreSQL backends serving them)",
        [
            "processes",
            "system",
            "drained/s",
            "vs raw httpx",
            "vs Procrastinate",
            "client CPU/run",
            "PostgreSQL CPU/run",
            "commits/run",
            "ok",
        ],
        rows,
    )
    report.show(
        "Targets: ≥ 1.5× Procrastinate (PostgreSQL), ≥ 0.8× raw client, every run recorded",
        [
            "workers",
            "engine",
            "dts runs/s",
            "vs Procrastinate",
            "≥ 1.5×",
            "vs raw httpx",
            "≥ 0.8×",
            "all recorded",
        ],
        summary,
    )
