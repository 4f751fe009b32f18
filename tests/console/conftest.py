"""The review console's test stack: every service on 127.0.0.1, the console in-process, a real browser.

Started once for the package (on the package's event loop): the web site (with one
hostile page whose title is an XSS payload), the fake LLM, realtime, gateway,
domain inference (in-process fallback), the controller with review-heavy tenant
policies and the external MCP test server, and the console itself, polling fast so
live updates show within a fraction of a second. The browser is Debian's Chromium
driven by Playwright (never a downloaded build); without it the browser tests skip
and say why.
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from agentplane.rpc import ServiceChannel, unary
from agentplane.v1 import controller_pb2 as C  # noqa: N812
from agentplane.v1 import controller_pb2_grpc
from console.config import ConsoleSettings
from console.server import CONSOLE, ConsoleServer, build_console
from controller.config import ControllerSettings
from tests.mcp.conftest import EXTERNAL_SERVER, Platform, start_services
from tests.realtime.site import TestSite
from tests.support.keys import raw_key
from tests.support.settings import test_settings

CHROMIUM = Path("/usr/bin/chromium")
DOCS = Path(__file__).resolve().parents[2] / "docs"
WAIT_MS = 20_000
XSS_TITLE = '<img src=x onerror="window.__xss=\'title\'">Rates'


def controller_settings(data_dir: Path, addresses: dict[str, str]) -> ControllerSettings:
    """Review-heavy policies: "general", "classify" and "lookup" tasks always go to a reviewer."""
    always = {"threshold": 1.0}
    acme = {
        "external_tools": ["ext.*"],
        "task_types": {
            "general": {"route": "LLM", **always},
            "classify": {"route": "DOMAIN", **always},
            "lookup": {"route": "REALTIME", "high_stakes": True},
            "payment_approval": {"route": "LLM", "high_stakes": True},
            "agent": {"threshold": 0.5},
        },
    }
    globex = {"task_types": {"general": {"route": "LLM", **always}}}
    return test_settings(
        ControllerSettings,
        "controller",
        data_dir / "controller",
        endpoints={name: [addresses[name]] for name in ("gateway", "domain_inference", "realtime")},
        client={"api_key": raw_key("service")},
        external_tools={"ext": {"command": [sys.executable, str(EXTERNAL_SERVER)], "timeout_s": 60.0}},
        policy={"tenants": {"acme": acme, "globex": globex}},
        llm={"samples": 1},
        agent={"enabled": True, "max_steps": 3},
        review_sweep_interval_s=3600.0,
    )


class Clock:
    """Monotonic time that a test can move forward (session expiry without waiting)."""

    def __init__(self) -> None:
        self.offset_s = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset_s

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.offset_s += seconds


@dataclass
class ConsoleStack:
    """The services, a console in front of their controller, and helpers."""

    services: Platform
    console: ConsoleServer
    clock: Clock

    @property
    def url(self) -> str:
        """The console's base URL (ends with /)."""
        return self.console.url

    @property
    def controller(self) -> str:
        """The controller's gRPC address."""
        return self.services.addresses["controller"]

    async def call(self, method: str, request: Any, key: str = "acme-user") -> Any:
        """One TaskController call with test key `key`."""
        async with ServiceChannel([self.controller], api_key=raw_key(key)) as channel:
            stub = controller_pb2_grpc.TaskControllerStub(channel.channel)
            return await unary(getattr(stub, method), request, timeout_s=60)

    async def submit(self, text: str, task_type: str, key: str = "acme-user", **fields: Any) -> C.Task:
        """Submit a task and wait for its outcome."""
        return await self.call("SubmitTask", C.SubmitTaskRequest(text=text, task_type=task_type, **fields), key)

    async def review(self, review_id: str, key: str = "acme-reviewer") -> C.Review:
        """A review as the controller has it now."""
        return await self.call("GetReview", C.GetReviewRequest(review_id=review_id), key)

    async def task(self, task_id: str, key: str = "acme-user") -> C.Task:
        """A task as the controller has it now."""
        return await self.call("GetTask", C.GetTaskRequest(task_id=task_id), key)

    async def escalated(self, text: str, task_type: str = "general", key: str = "acme-user", **fields: Any) -> C.Task:
        """A task that waits for a reviewer (fails the test otherwise)."""
        task = await self.submit(text, task_type, key, **fields)
        assert task.state == C.TASK_STATE_NEEDS_REVIEW and task.review_id, task
        return task


async def start_console(
    stack: AsyncExitStack, root: Path, controller: str, **overrides: Any
) -> tuple[ConsoleServer, Clock]:
    """A console on a free port in front of `controller`."""
    clock = Clock()
    settings = test_settings(ConsoleSettings, "console", root, endpoints={"controller": [controller]}, **overrides)
    host = build_console(settings, clock=clock)
    await host.start()
    stack.push_async_callback(host.stop)
    return host[CONSOLE], clock


async def _hostile(request: web.Request) -> web.Response:
    body = f"<!doctype html><html><head><title>{XSS_TITLE}</title></head><body><p>EUR/USD 1.0842</p></body></html>"
    return web.Response(text=body, content_type="text/html")


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ConsoleStack]:
    """Services plus a console that signs in without limits and polls every 0.2 s."""
    root = tmp_path_factory.mktemp("console")
    site = TestSite()
    site.app.router.add_get("/hostile.html", _hostile)
    async with AsyncExitStack() as exits:
        services = await start_services(exits, root, site=site, controller_settings=controller_settings)
        console, clock = await start_console(
            exits, root / "console", services.addresses["controller"], poll_interval_s=0.2,
            signin_burst=10_000, signin_per_address_per_min=60_000, signin_total_per_min=60_000,
        )  # fmt: skip
        yield ConsoleStack(services, console, clock)


@pytest.fixture(scope="package")
def chromium() -> Path:
    """Debian's Chromium (skips, saying why, when it is not installed)."""
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (`make setup` installs it with apt-get)")
    return CHROMIUM


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    """Headless Debian Chromium driven by Playwright (never a downloaded browser build)."""
    # Bounded waits, generous enough for a loaded 2-core CI machine.
    expect.set_options(timeout=WAIT_MS)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium), headless=True, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


async def sign_in(browser: Browser, base_url: str, key: str) -> tuple[BrowserContext, Page]:
    """A fresh browser context (own cookie jar) signed in to the console with test key `key`."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    await page.goto(base_url + "signin")
    await page.get_by_label("Reviewer API key").fill(raw_key(key))
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(base_url + "queue")
    return context, page


@pytest.fixture(scope="package")
def screenshots(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: docs/ with `--update-screenshots` (README shows them), else a scratch dir."""
    if request.config.getoption("--update-screenshots"):
        return DOCS
    return tmp_path_factory.mktemp("screenshots")


class Reviewers:
    """One signed-in browser context per test key, shared by the package's tests (signing in costs a page load)."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self._browser = browser
        self._base_url = base_url
        self._contexts: dict[str, BrowserContext] = {}

    async def page(self, key: str = "acme-reviewer") -> Page:
        """A new tab of `key`'s signed-in context (close it when done)."""
        context = self._contexts.get(key)
        if context is None:
            context, first = await sign_in(self._browser, self._base_url, key)
            self._contexts[key] = context
            return first
        return await context.new_page()

    async def aclose(self) -> None:
        """Close every context."""
        for context in self._contexts.values():
            await context.close()


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def reviewers(stack: ConsoleStack, browser: Browser) -> AsyncIterator[Reviewers]:
    """Signed-in contexts of the package's console (not for tests that sign out or expire sessions)."""
    shared = Reviewers(browser, stack.url)
    try:
        yield shared
    finally:
        await shared.aclose()
