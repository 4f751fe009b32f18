"""How well the controller knows when it does not know: accuracy, coverage, ECE, risk-coverage.

Starts the whole platform (`agentplane up`, see tests/support/platform.py) and submits
every held-out example of the model build's evaluation sets to the TaskController as a
`classify` task: test articles, short in-domain texts cut from them (titles, sentences),
and out-of-domain texts (film reviews and plot synopses). Nothing here was used to
train or calibrate the model.

    .venv/bin/python bench/confidence_eval.py [--concurrency 16] [--limit N]

Prints one JSON object: per set, coverage (share answered without escalation), accuracy
and error of the answered tasks, expected calibration error of the confidence scores,
the risk-coverage curve, and for out-of-domain text the share escalated or clarified.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agentplane.rpc import ServiceChannel, unary  # noqa: E402
from agentplane.v1 import controller_pb2, controller_pb2_grpc  # noqa: E402
from tests.support.models import models_dir  # noqa: E402
from tests.support.platform import start_platform, stop_platform_process  # noqa: E402

ANSWERED = controller_pb2.TASK_STATE_COMPLETED
ESCALATED = (controller_pb2.TASK_STATE_NEEDS_REVIEW, controller_pb2.TASK_STATE_NEEDS_CLARIFICATION)


def _label(task: controller_pb2.Task) -> str:
    field = task.result.data.fields.get("label")
    return field.string_value if field is not None else ""


def _ece(scores: list[float], correct: list[bool], bins: int = 15) -> float:
    total, n = 0.0, len(scores)
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, s in enumerate(scores) if (lo < s <= hi) or (b == 0 and s == 0)]
        if idx:
            conf = sum(scores[i] for i in idx) / len(idx)
            acc = sum(correct[i] for i in idx) / len(idx)
            total += len(idx) / n * abs(conf - acc)
    return round(total, 4)


def _risk_coverage(scores: list[float], correct: list[bool]) -> list[dict[str, float]]:
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    curve = []
    for share in (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0):
        k = max(1, round(share * len(order)))
        kept = order[:k]
        curve.append(
            {
                "coverage": share,
                "error": round(1 - sum(correct[i] for i in kept) / k, 4),
                "min_confidence": round(scores[kept[-1]], 4),
            }
        )
    return curve


def _summarise(rows: list[dict[str, Any]], in_domain: bool) -> dict[str, Any]:
    answered = [r for r in rows if r["state"] == ANSWERED]
    escalated = [r for r in rows if r["state"] in ESCALATED]
    out: dict[str, Any] = {
        "n": len(rows),
        "coverage": round(len(answered) / len(rows), 4),
        "escalated_or_clarified": round(len(escalated) / len(rows), 4),
        "failed": sum(r["state"] not in (ANSWERED, *ESCALATED) for r in rows),
    }
    if in_domain:
        correct = [r["predicted"] == r["label"] for r in rows]
        scores = [r["score"] for r in rows]
        right = sum(r["predicted"] == r["label"] for r in answered)
        out |= {
            "model_accuracy_all": round(sum(correct) / len(rows), 4),
            "answered_accuracy": round(right / len(answered), 4) if answered else None,
            "answered_error": round(1 - right / len(answered), 4) if answered else None,
            "ece_15": _ece(scores, correct),
            "risk_coverage": _risk_coverage(scores, correct),
        }
    return out


async def _run(address: str, key: str, examples: list[dict[str, Any]], concurrency: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for ex in examples:
        queue.put_nowait(ex)
    async with ServiceChannel([address], api_key=key) as channel:
        stub = controller_pb2_grpc.TaskControllerStub(channel.channel)

        async def worker() -> None:
            while not queue.empty():
                ex = queue.get_nowait()
                task = await unary(
                    stub.SubmitTask,
                    controller_pb2.SubmitTaskRequest(text=ex["text"], task_type="classify"),
                    timeout_s=120,
                )
                rows.append(
                    {
                        **ex,
                        "state": task.state,
                        "score": task.result.confidence.score,
                        "predicted": _label(task),
                    }
                )

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return rows


def main() -> int:
    """Run the evaluation and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--limit", type=int, default=0, help="examples per set (0 = all)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        models = models_dir(Path(tmp))
        sets = {
            name: [json.loads(line) for line in (models / "eval" / f"{name}.jsonl").read_text().splitlines()]
            for name in ("news_test", "news_test_short", "ood_eval")
        }
        if args.limit:
            sets = {k: v[: args.limit] for k, v in sets.items()}
        platform = start_platform(Path(tmp) / "data", models)
        try:
            started = time.perf_counter()
            results = {
                name: asyncio.run(
                    _run(platform.address("controller"), platform.key("acme-user"), examples, args.concurrency)
                )
                for name, examples in sets.items()
            }
            seconds = time.perf_counter() - started
        finally:
            stop_platform_process(platform.process)
    report = {
        "parameters": {"concurrency": args.concurrency, "limit": args.limit, "threshold": 0.85},
        "articles": _summarise(results["news_test"], in_domain=True),
        "short_texts": _summarise(results["news_test_short"], in_domain=True),
        "out_of_domain": _summarise(results["ood_eval"], in_domain=False),
        "by_ood_kind": {
            kind: _summarise([r for r in results["ood_eval"] if r["kind"] == kind], in_domain=False)
            for kind in sorted({r["kind"] for r in results["ood_eval"]})
        },
        "tasks": sum(len(v) for v in results.values()),
        "seconds": round(seconds, 1),
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
