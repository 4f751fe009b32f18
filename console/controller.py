"""The console's client of the controller's gRPC API.

Layer: console adapter. Every call carries the signed-in reviewer's own API key, so
the controller scopes it to the reviewer's tenant and applies the reviewer's roles;
the console's channel has no key of its own (never the platform's service key).
Failures arrive as typed `AgentplaneError`s (`agentplane.rpc.unary`).
"""

from __future__ import annotations

from collections.abc import Sequence

from agentplane.rpc import ServiceChannel, unary
from agentplane.settings import ClientSettings
from agentplane.v1 import controller_pb2, controller_pb2_grpc

__all__ = ["ControllerClient"]

C = controller_pb2
_AUDIT_PAGE = 1000


class ControllerClient:
    """Calls the TaskController on behalf of one reviewer at a time.

    Args:
        addresses: host:port of every controller replica.
        settings: Client settings (default timeout); any key in them is ignored.
        timeout_s: Deadline of each call.
    """

    def __init__(self, addresses: Sequence[str], settings: ClientSettings, timeout_s: float) -> None:
        keyless = settings.model_copy(update={"api_key": None, "api_key_file": None})
        self._channel = ServiceChannel(addresses, keyless, api_key="")
        self._stub = controller_pb2_grpc.TaskControllerStub(self._channel.channel)
        self._timeout_s = timeout_s

    async def aclose(self) -> None:
        """Close the channel."""
        await self._channel.aclose()

    def _key(self, api_key: str) -> tuple[tuple[str, str]]:
        return (("x-api-key", api_key),)

    async def who_am_i(self, api_key: str) -> controller_pb2.Caller:
        """The key's name, tenant and roles."""
        return await unary(self._stub.WhoAmI, C.WhoAmIRequest(), timeout_s=self._timeout_s, metadata=self._key(api_key))

    async def pending_reviews(self, api_key: str, limit: int) -> list[controller_pb2.Review]:
        """Up to `limit` pending reviews of the key's tenant (every page read)."""
        reviews: list[controller_pb2.Review] = []
        token = ""
        while len(reviews) < limit:
            page = await unary(
                self._stub.ListReviews,
                C.ListReviewsRequest(page_size=min(500, limit - len(reviews)), page_token=token),
                timeout_s=self._timeout_s,
                metadata=self._key(api_key),
            )
            reviews.extend(page.reviews)
            token = page.next_page_token
            if not token:
                break
        return reviews

    async def review(self, api_key: str, review_id: str) -> controller_pb2.Review:
        """One review of the key's tenant."""
        return await unary(
            self._stub.GetReview,
            C.GetReviewRequest(review_id=review_id),
            timeout_s=self._timeout_s,
            metadata=self._key(api_key),
        )

    async def task(self, api_key: str, task_id: str) -> controller_pb2.Task:
        """One task of the key's tenant."""
        request = C.GetTaskRequest(task_id=task_id)
        return await unary(self._stub.GetTask, request, timeout_s=self._timeout_s, metadata=self._key(api_key))

    async def resolve(
        self,
        api_key: str,
        review_id: str,
        decision: controller_pb2.ReviewDecision.ValueType,
        edited_answer: str,
        comment: str,
    ) -> controller_pb2.ResolveReviewResponse:
        """Apply a reviewer's decision (the controller's compare-and-set refuses a second one)."""
        request = C.ResolveReviewRequest(
            review_id=review_id, decision=decision, edited_answer=edited_answer, comment=comment
        )
        return await unary(self._stub.ResolveReview, request, timeout_s=self._timeout_s, metadata=self._key(api_key))

    async def audit_trail(self, api_key: str, task_id: str, limit: int = 5000) -> list[controller_pb2.AuditEvent]:
        """The task's audit events, oldest first (at most `limit`)."""
        events: list[controller_pb2.AuditEvent] = []
        after = 0
        while len(events) < limit:
            page = await unary(
                self._stub.GetAuditTrail,
                C.GetAuditTrailRequest(task_id=task_id, after_sequence=after, page_size=_AUDIT_PAGE),
                timeout_s=self._timeout_s,
                metadata=self._key(api_key),
            )
            events.extend(page.events)
            after = page.next_after_sequence
            if not after:
                break
        return events[:limit]

    async def verify_chain(self, api_key: str) -> controller_pb2.VerifyAuditTrailResponse:
        """Recompute the tenant's audit hash chain."""
        return await unary(
            self._stub.VerifyAuditTrail,
            C.VerifyAuditTrailRequest(),
            timeout_s=max(self._timeout_s, 60.0),
            metadata=self._key(api_key),
        )
