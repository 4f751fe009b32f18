"""Signed audit heads: every tenant's chain head signed at intervals and on export.

Layer: controller domain. `AuditAnchors.sign_head` signs a tenant's current head
(or returns the signature already kept for it); the background loop signs, every
`audit.anchor_interval_s`, each head that moved since it was last signed. Signed
heads are kept in the store and exported with the trail, so a reader outside the
system can check with the public key that nothing up to a signed head was changed
after it was signed (docs/audit.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from controller.audit_signing import AuditSigner, SignedHead
from controller.models import utcnow
from controller.store.base import Store

__all__ = ["AuditAnchors"]

log = logging.getLogger("controller.anchors")

# Heads signed per store round trip in the background loop.
_BATCH = 500


class AuditAnchors:
    """Signs chain heads and keeps the signatures.

    Args:
        store: Where heads are read and signatures kept.
        signer: The signing key.
        interval_s: How often moved heads are signed in the background; 0 = only on request.
    """

    def __init__(self, store: Store, signer: AuditSigner, interval_s: float) -> None:
        self._store = store
        self.signer = signer
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def sign_head(self, tenant: str) -> SignedHead:
        """Sign `tenant`'s current head, unless it is signed already; return the kept signature."""
        sequence, head_hash = await self._store.audit_head(tenant)
        kept = await self._store.signed_heads(tenant, after_sequence=sequence - 1, limit=1)
        if kept and kept[0].sequence == sequence:
            return kept[0]
        return await self._store.put_signed_head(self.signer.sign(tenant, sequence, head_hash, utcnow()))

    async def sign_moved_heads(self) -> int:
        """Sign every head that moved since it was last signed; return how many were signed."""
        signed = 0
        while True:
            heads = await self._store.unsigned_heads(_BATCH)
            for tenant, sequence, head_hash in heads:
                await self._store.put_signed_head(self.signer.sign(tenant, sequence, head_hash, utcnow()))
            signed += len(heads)
            if len(heads) < _BATCH:
                return signed

    async def start(self) -> None:
        """Start the background loop (no-op when the interval is 0)."""
        if self._interval_s > 0 and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="audit-anchors")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)  # a schedule, not synchronisation
            try:
                count = await self.sign_moved_heads()
            except Exception:  # the next round retries; the chain itself is unaffected
                log.exception("signing audit heads failed")
                continue
            if count:
                log.info("signed %d audit head(s)", count)

    async def aclose(self) -> None:
        """Stop the loop, then sign the heads that moved since its last round. Idempotent."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        try:
            await self.sign_moved_heads()
        except Exception:  # shutting down: the next start signs them
            log.exception("signing audit heads at shutdown failed")
