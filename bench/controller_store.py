"""Throughput of the controller store: tasks/s for create + save with 6 audit events each.

Each task is one `create_task` (RECEIVED event, 2 audit events) then one `save_task`
(COMPLETED with a full result, compare-and-set on RECEIVED, 2 events, 4 audit events),
run by `--concurrency` workers. SQLite runs on a fresh file in a temporary directory;
PostgreSQL on a fresh schema of the server at 127.0.0.1 (dropped afterwards). Prints one
JSON object with the parameters, tasks/s, latency percentiles, CPU ms per task, and
whether every tenant's audit chain verified afterwards.

    .venv/bin/python bench/controller_store.py --backend sqlite --tasks 5000 --concurrency 64
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from controller.audit import AuditDraft, verify_chain
from controller.models import (
    Capability,
    Confidence,
    EventType,
    Plan,
    PlanStep,
    Route,
    StepResult,
    StepStatus,
    Task,
    TaskEvent,
    TaskResult,
    TaskState,
    UsageTotals,
    utcnow,
)
from controller.store import PostgresStore, SqliteStore, Store, StoreSettings

_PLAN = Plan(Route.LLM, (PlanStep("answer", Capability.LLM_COMPLETE, "small", (), "answer"),))
_RESULT = TaskResult(
    answer="Order 42 shipped on Monday; tracking number 1Z999.",
    route=Route.LLM,
    confidence=Confidence(0.82, (), "self-rated"),
    steps=(StepResult("answer", Capability.LLM_COMPLETE, StepStatus.SUCCEEDED, "small", "ok", None, 42.0, 1),),
    usage=UsageTotals(120, 40, 0.0004, 1),
)


async def _one_task(store: Store, tenant: str, n: int) -> float:
    started = time.perf_counter()
    now = utcnow()
    task = Task(uuid.uuid4().hex, tenant, f"what is the status of order {n}?", TaskState.RECEIVED, now, now, plan=_PLAN)

    def draft(action: str) -> AuditDraft:
        return AuditDraft(tenant, task.task_id, action, "user:bench", "trace", utcnow(), {"n": n})

    await store.create_task(
        task,
        events=[TaskEvent(task.task_id, 1, EventType.RECEIVED, now)],
        audit=[draft("task.submitted"), draft("task.routed")],
    )
    done = task.evolve(state=TaskState.COMPLETED, result=_RESULT, completed_at=utcnow())
    await store.save_task(
        done,
        expect_state=TaskState.RECEIVED,
        events=[
            TaskEvent(task.task_id, 2, EventType.STEP_DONE, now),
            TaskEvent(task.task_id, 3, EventType.COMPLETED, now),
        ],
        audit=[draft("step.started"), draft("step.done"), draft("confidence.scored"), draft("task.completed")],
    )
    return time.perf_counter() - started


async def _run(store: Store, args: argparse.Namespace) -> dict[str, Any]:
    tenants = [f"tenant-{i}" for i in range(args.tenants)]
    latencies: list[float] = []
    next_n = iter(range(args.tasks))

    async def worker() -> None:
        for n in next_n:
            latencies.append(await _one_task(store, tenants[n % len(tenants)], n))

    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    valid = True
    for tenant in tenants:
        events, after = [], 0
        while page := await store.audit_events(tenant, after_sequence=after, limit=10_000):
            events += page
            after = page[-1].sequence
        valid = (
            valid
            and verify_chain(events, head=await store.audit_head(tenant)).valid
            and len(events) == 6 * sum(1 for n in range(args.tasks) if tenants[n % len(tenants)] == tenant)
        )
    latencies.sort()
    return {
        "seconds": round(wall, 3),
        "tasks_per_s": round(args.tasks / wall, 1),
        "audit_events_per_s": round(6 * args.tasks / wall, 1),
        "task_latency_ms_p50": round(1000 * statistics.median(latencies), 2),
        "task_latency_ms_p99": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 2),
        "cpu_ms_per_task": round(1000 * cpu / args.tasks, 3),
        "audit_chains_valid": valid,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    params = {k: v for k, v in vars(args).items() if k != "postgres_dsn"}
    settings_fields: dict[str, Any] = {
        "write_batch_max_ops": args.batch_max_ops,
        "write_batch_max_delay_s": args.batch_max_delay_ms / 1000,
    }
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            store: Store = SqliteStore(Path(tmp) / "bench.db", StoreSettings(**settings_fields))
            await store.open()
            try:
                return {**params, **await _run(store, args)}
            finally:
                await store.aclose()
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    pool_max = max(2, min(args.concurrency, args.pool_max_size))
    settings = StoreSettings(
        backend="postgres", postgres_dsn=args.postgres_dsn, postgres_schema=schema, postgres_pool_max_size=pool_max
    )
    store = PostgresStore(args.postgres_dsn, settings)
    await store.open()
    try:
        return {**params, **await _run(store, args)}
    finally:
        await store.aclose()
        conn = await asyncpg.connect(args.postgres_dsn)
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--tasks", type=int, default=2000, help="tasks to create and complete")
    parser.add_argument("--concurrency", type=int, default=64, help="tasks in flight")
    parser.add_argument("--tenants", type=int, default=4, help="tenants the tasks are spread over (one chain each)")
    parser.add_argument("--batch-max-ops", type=int, default=256, help="SQLite group commit: operations per batch")
    parser.add_argument("--batch-max-delay-ms", type=float, default=0.0, help="SQLite group commit: wait for more")
    parser.add_argument("--pool-max-size", type=int, default=16, help="PostgreSQL pool size (capped by concurrency)")
    parser.add_argument("--postgres-dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    if args.tasks < 1 or args.concurrency < 1 or args.tenants < 1:
        parser.error("--tasks, --concurrency and --tenants must be >= 1")
    return args


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(_parse()))))
