"""Fixtures for shared-core tests: a real probe server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agentplane.settings import ServiceSettings
from tests.agentplane.probe_service import Probe, build
from tests.support.servers import running
from tests.support.settings import test_settings


@pytest.fixture
def probe_settings(tmp_path: Path) -> ServiceSettings:
    return test_settings(ServiceSettings, "probe", tmp_path)


@pytest.fixture
async def probe(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, Probe, Any]]:
    overrides = getattr(request, "param", {})
    server, handlers = build(test_settings(ServiceSettings, "probe", tmp_path, **overrides))
    async with running(server) as address:
        yield address, handlers, server.grpc
