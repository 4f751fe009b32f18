"""What the console's pages show, built from controller messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from google.protobuf import timestamp_pb2

from agentplane.v1 import common_pb2
from agentplane.v1 import controller_pb2 as C  # noqa: N812
from console.views import audit_entries, confidence_bars, duration, queue_rows, reason_kind, review_view

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _ts(when: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(when)
    return ts


def test_durations_and_reason_kinds_read_naturally():
    assert [duration(s) for s in (5, 125, 3 * 3600 + 300, 2 * 86_400 + 4 * 3600)] == [
        "5 s", "2 min", "3 h 05 min", "2 d 4 h",
    ]  # fmt: skip
    assert reason_kind("low_confidence (0.612 < 0.85)") == "low_confidence"
    assert reason_kind("high_stakes_task_type") == "high_stakes_task_type"


def test_queue_rows_are_newest_first_with_age_and_time_to_expiry():
    old = C.Review(review_id="rev_a", task_text="first  task\ntext", reason="high_stakes_task_type",
                   created_at=_ts(NOW - timedelta(hours=2)), expires_at=_ts(NOW + timedelta(minutes=30)))  # fmt: skip
    new = C.Review(review_id="rev_b", task_text="x" * 300, reason="low_confidence (0.5 < 0.85)",
                   created_at=_ts(NOW - timedelta(seconds=40)), expires_at=_ts(NOW - timedelta(seconds=1)))  # fmt: skip
    rows = queue_rows([old, new], NOW)
    assert [r.review_id for r in rows] == ["rev_b", "rev_a"]
    assert rows[0].expires_in == "expired" and rows[0].excerpt.endswith("…") and len(rows[0].excerpt) == 141
    assert rows[1].age == "2 h 00 min" and rows[1].expires_in == "30 min" and rows[1].expiring_soon
    assert rows[1].excerpt == "first task text" and rows[1].task_type == "(none)"


def test_bars_put_the_overall_score_first_and_judge_each_against_the_threshold():
    conf = common_pb2.Confidence(
        score=0.6,
        components=[common_pb2.ConfidenceComponent(name="token_confidence", value=0.9, weight=1.0, detail="d")],
    )
    overall, token = confidence_bars(conf, 0.85)
    assert overall.overall and not overall.passes and overall.percent == 60.0
    assert token.name == "token_confidence" and token.passes and token.threshold_percent == 85.0


def test_a_review_view_gathers_page_and_domain_evidence_from_the_result_data():
    task = C.Task(task_id="t1", sensitivity=common_pb2.SENSITIVITY_CONFIDENTIAL, confidence_threshold=0.9)
    task.result.data.update({
        "pages": [{"url": "http://x/a", "title": "<b>T</b>", "age_s": 75, "injection_flagged": True,
                   "injection_score": 0.8, "data": {"price": "$3"}}],
        "label": "sport", "probabilities": {"sport": 0.7, "tech": 0.3},
        "model": "news-topic", "model_version": "1", "model_card": {"evaluation.test_articles.accuracy": 0.96},
    })  # fmt: skip
    review = C.Review(review_id="r1", task_id="t1", state=C.REVIEW_STATE_PENDING, task_text="[REDACTED]")
    view = review_view(review, task, NOW)
    assert view.text_redacted and view.sensitivity == "CONFIDENTIAL" and view.threshold == 0.9
    (page,) = view.pages
    assert page.title == "<b>T</b>" and page.age == "1 min" and page.injection_flagged
    assert page.fields == (("price", "$3"),)
    assert view.domain is not None and view.domain.probabilities[0] == ("sport", 0.7)
    assert view.domain.card == (("evaluation.test_articles.accuracy", 0.96),)
    assert view.tool_call is None and view.state == "PENDING"


def test_a_tool_call_review_shows_its_canonical_arguments_pretty_printed():
    review = C.Review(review_id="r1", state=C.REVIEW_STATE_PENDING)
    review.tool_call.CopyFrom(C.ToolCallApproval(server="ext", tool="delete_record", arguments_json='{"id":"r-42"}',
                                                 arguments_sha256="ab" * 32, destructive=True))  # fmt: skip
    call = review_view(review, None, NOW).tool_call
    assert call is not None and call.destructive and json.loads(call.arguments) == {"id": "r-42"}


def test_audit_entries_spell_out_their_details():
    event = C.AuditEvent(sequence=3, action="review.resolved", actor="acme-reviewer",
                         details_json='{"comment":"ok","edited":false}', hash="h")  # fmt: skip
    (entry,) = audit_entries([event])
    assert entry.details == (("comment", "ok"), ("edited", "false"))
