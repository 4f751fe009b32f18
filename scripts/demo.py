"""`make demo`: start the platform on its embedded defaults, take a tour of sample tasks, stop it.

The tour shows each route (domain model, LLM, real-time page), an out-of-domain input
being escalated instead of answered, a clarification question and its answer, a
reviewer approving an escalated task, and the audit trail being verified. The "web" is
the sample page site `agentplane up` serves on 127.0.0.1:8090 (allowed by the realtime
SSRF guard for exactly that address).
Exits 0 when the tour ran to the end.
"""

from __future__ import annotations

import asyncio
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from agentplane.platform import load_credentials
from agentplane.rpc import ServiceChannel, unary
from agentplane.v1 import controller_pb2 as C  # noqa: N812
from agentplane.v1 import controller_pb2_grpc

ROOT = Path(__file__).resolve().parents[1]

DATA_DIR = ROOT / ".agentplane"
CONTROLLER = "127.0.0.1:50051"
PAGES = "http://127.0.0.1:8090"


def _wait_line(proc: subprocess.Popen[bytes], prefix: str, timeout_s: float) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            line = proc.stdout.readline().decode(errors="replace")
            if not line:
                break
            if line.startswith(prefix):
                return line.strip()
        elif proc.poll() is not None:
            break
    raise RuntimeError(f"no line starting with {prefix!r} (exit code {proc.poll()}); see {DATA_DIR / 'logs'}")


def _show(title: str, task: C.Task) -> None:
    state = C.TaskState.Name(task.state).removeprefix("TASK_STATE_")
    route = C.Route.Name(task.result.route).removeprefix("ROUTE_") if task.HasField("result") else "-"
    print(f"\n=== {title}")
    print(f"    state {state}, route {route}, confidence {task.result.confidence.score:.3f}")
    if task.result.answer:
        print(f"    answer: {task.result.answer[:300]!r}")
    if task.result.confidence.rationale:
        print(f"    why: {task.result.confidence.rationale[:300]}")
    if task.clarification.question:
        print(f"    question back: {task.clarification.question}")
    if task.review_id:
        print(f"    sent to review {task.review_id}: {task.escalation_reason}")


async def _tour(pages: str) -> None:
    creds = load_credentials(DATA_DIR)
    async with (
        ServiceChannel([CONTROLLER], api_key=creds.key_for("acme-user")) as user,
        ServiceChannel([CONTROLLER], api_key=creds.key_for("acme-reviewer")) as reviewer,
    ):
        stub = controller_pb2_grpc.TaskControllerStub(user.channel)
        review_stub = controller_pb2_grpc.TaskControllerStub(reviewer.channel)

        async def submit(title: str, **fields: object) -> C.Task:
            task = await unary(stub.SubmitTask, C.SubmitTaskRequest(**fields), timeout_s=120)  # type: ignore[arg-type]
            _show(title, task)
            return task

        article = (
            "Shares in the retailer jumped 9% after it reported record half-year profits, raised its dividend "
            "and said sales had grown faster than analysts expected."
        )
        await submit("1. A domain task with a hint: classify a news story", text=article, task_type="classify")
        await submit("2. The same kind of text without a hint: semantic routing", text=article)
        await submit("3. A general question to the local LLM (SmolLM2-135M: weak, scored honestly)",
                     text="What is the capital of France?")  # fmt: skip
        await submit(
            "4. A real-time lookup that answers from a page", text=f"What is the EUR/USD rate on {pages}/rates.html ?"
        )
        escalated = await submit(
            "5. Out-of-domain input: a film review given to the news-topic model",
            text="A gorgeous, heartfelt film with luminous performances; I laughed and cried.",
            task_type="classify",
        )
        asked = await submit("6. A real-time task without a URL: a question back", text="What is the gold price today?",
                             task_type="realtime", session_id="demo-session")  # fmt: skip
        if asked.state == C.TASK_STATE_NEEDS_CLARIFICATION:
            await submit("7. The answer to that question, in the same session", text=f"{pages}/rates.html",
                         session_id="demo-session")  # fmt: skip
        if escalated.review_id:
            resolved = await unary(
                review_stub.ResolveReview,
                C.ResolveReviewRequest(
                    review_id=escalated.review_id,
                    decision=C.REVIEW_DECISION_EDIT,
                    edited_answer="Not a news article: this is a film review.",
                    comment="out of scope for the topic model",
                ),
            )
            _show("8. A reviewer edits the escalated answer", resolved.task)
        verdict = await unary(stub.VerifyAuditTrail, C.VerifyAuditTrailRequest())
        print(
            f"\n=== 9. Audit trail of tenant acme: valid={verdict.valid}, "
            f"{verdict.events_checked} events, head {verdict.head_hash[:16]}..."
        )


def main() -> int:
    """Run the tour; return 0 when it completed."""
    print("starting the platform (first start takes a little longer)...", flush=True)
    platform = subprocess.Popen(
        [sys.executable, "-m", "agentplane.cli", "up", "--quiet"], cwd=ROOT, stdout=subprocess.PIPE
    )
    try:
        print(_wait_line(platform, "agentplane is up", 300), flush=True)
        asyncio.run(_tour(PAGES))
        return 0
    finally:
        if platform.poll() is None:
            platform.send_signal(signal.SIGTERM)
            platform.wait(120)
        print("\nplatform stopped", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
