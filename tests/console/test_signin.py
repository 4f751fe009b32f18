"""Sign-in, sessions and sign-out of the review console, in a real browser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import expect

from agentplane.v1 import controller_pb2 as C  # noqa: N812
from console.server import ConsoleServer
from tests.console.conftest import Clock, ConsoleStack, sign_in, start_console
from tests.support.keys import raw_key
from tests.support.tls import self_signed

pytestmark = pytest.mark.asyncio(loop_scope="package")


@dataclass
class OwnConsole:
    """Another console on the same controller, with its own settings and clock."""

    console: ConsoleServer
    clock: Clock

    @property
    def url(self) -> str:
        return self.console.url


@pytest_asyncio.fixture(loop_scope="package")
async def limited(stack: ConsoleStack, tmp_path: Path) -> AsyncIterator[OwnConsole]:
    """Three sign-in attempts at once per address, then one a minute."""
    async with AsyncExitStack() as exits:
        console, clock = await start_console(
            exits, tmp_path, stack.controller, signin_burst=3, signin_per_address_per_min=1.0
        )
        yield OwnConsole(console, clock)


@pytest_asyncio.fixture(loop_scope="package")
async def short(stack: ConsoleStack, tmp_path: Path) -> AsyncIterator[OwnConsole]:
    """Sessions end after 10 idle minutes; open pages hear about it within 0.2 s."""
    async with AsyncExitStack() as exits:
        console, clock = await start_console(
            exits, tmp_path, stack.controller, session_idle_s=600.0, sse_heartbeat_s=0.2
        )
        yield OwnConsole(console, clock)


async def test_a_reviewer_signs_in_once_and_gets_a_strict_session_cookie(stack, browser):
    context, page = await sign_in(browser, stack.url, "acme-reviewer")
    try:
        await expect(page.locator("#who-name")).to_have_text("acme-reviewer")
        await expect(page.locator("#who-tenant")).to_have_text("acme")
        (cookie,) = [c for c in await context.cookies() if c["name"] == "ap_session"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
        assert not cookie["secure"]  # plain HTTP on loopback; Secure when TLS is on (see test_config)
        assert cookie["expires"] > 0  # a persistent cookie that ends with the session
        # The key is exchanged once: never in a page, a URL or a cookie afterwards.
        assert raw_key("acme-reviewer") not in await page.content()
        assert raw_key("acme-reviewer") not in page.url
        assert all(raw_key("acme-reviewer") not in c["value"] for c in await context.cookies())
    finally:
        await context.close()


async def test_signing_out_ends_the_session_on_the_server(stack, browser):
    context, page = await sign_in(browser, stack.url, "acme-reviewer")
    try:
        stolen = [c for c in await context.cookies() if c["name"] == "ap_session"]
        await page.get_by_role("button", name="Sign out").click()
        await page.wait_for_url(stack.url + "signin?ended=signout")
        await expect(page.locator("#signin-notice")).to_have_text("You are signed out.")
        # Replaying the old cookie does not bring the session back.
        await context.add_cookies(stolen)
        await page.goto(stack.url + "queue")
        assert page.url.startswith(stack.url + "signin")
        await expect(page.locator("#signin-notice")).to_contain_text("no longer valid")
    finally:
        await context.close()


async def test_a_wrong_key_or_a_key_without_the_reviewer_role_is_refused(stack, browser):
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await page.goto(stack.url + "signin")
        await page.get_by_label("Reviewer API key").fill("not-a-key")
        async with page.expect_response(stack.url + "signin") as answer:
            await page.get_by_role("button", name="Sign in").click()
        assert (await answer.value).status == 401
        await expect(page.locator("#signin-notice")).to_have_text("That API key was not accepted.")
        await page.get_by_label("Reviewer API key").fill(raw_key("acme-user"))
        async with page.expect_response(stack.url + "signin") as answer:
            await page.get_by_role("button", name="Sign in").click()
        assert (await answer.value).status == 403
        await expect(page.locator("#signin-notice")).to_contain_text("has no reviewer role")
        assert not [c for c in await context.cookies() if c["name"] == "ap_session"]
    finally:
        await context.close()


async def test_a_sign_in_post_without_the_form_token_is_refused(stack, browser):
    context = await browser.new_context()
    try:
        answer = await context.request.post(stack.url + "signin", form={"api_key": raw_key("acme-reviewer")})
        assert answer.status == 403
        assert not [c for c in await context.cookies() if c["name"] == "ap_session"]
    finally:
        await context.close()


async def test_sign_in_attempts_are_rate_limited(limited, browser):
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await page.goto(limited.url + "signin")
        statuses = []
        for key in ("wrong-1", "wrong-2", "wrong-3", raw_key("acme-reviewer")):
            await page.get_by_label("Reviewer API key").fill(key)
            async with page.expect_response(limited.url + "signin") as answer:
                await page.get_by_role("button", name="Sign in").click()
            statuses.append((await answer.value).status)
            retry_after = (await answer.value).headers.get("retry-after")
        assert statuses == [401, 401, 401, 429]  # even the right key waits once the address is over its limit
        assert retry_after is not None and int(retry_after) > 0
        await expect(page.locator("#signin-notice")).to_contain_text("Too many sign-in attempts")
    finally:
        await context.close()


async def test_an_expired_session_is_explained_and_loses_nothing(stack, short, browser):
    task = await stack.escalated("Summarise the meeting notes, please.")
    context, page = await sign_in(browser, short.url, "acme-reviewer")
    try:
        await page.goto(short.url + f"reviews/{task.review_id}")
        short.clock.advance(601)  # past the idle limit
        # The open page learns it over its event stream and says so.
        await expect(page.locator("#session-banner")).to_be_visible()
        # A decision sent now is not applied, and the sign-in page says why.
        await page.get_by_role("button", name="Approve", exact=True).click()
        await page.wait_for_url(short.url + "signin?ended=lost")
        await expect(page.locator("#signin-notice")).to_contain_text("nothing was changed")
        assert (await stack.review(task.review_id)).state == C.REVIEW_STATE_PENDING
        await page.goto(short.url + "queue")
        assert page.url == short.url + "signin?ended=expired"
        await expect(page.locator("#signin-notice")).to_contain_text("expired")
    finally:
        await context.close()


async def test_under_tls_the_session_cookie_is_secure_and_host_bound(stack, browser, tmp_path):
    cert, key = self_signed(tmp_path)
    async with AsyncExitStack() as exits:
        console, _ = await start_console(exits, tmp_path, stack.controller, tls_cert_file=cert, tls_key_file=key)
        assert console.url.startswith("https://")
        context = await browser.new_context(ignore_https_errors=True)
        try:
            page = await context.new_page()
            await page.goto(console.url + "signin")
            await page.get_by_label("Reviewer API key").fill(raw_key("acme-reviewer"))
            async with page.expect_response(console.url + "queue") as queue:
                await page.get_by_role("button", name="Sign in").click()
            assert (await queue.value).headers["strict-transport-security"].startswith("max-age=")
            (cookie,) = [c for c in await context.cookies() if c["name"] == "__Host-ap_session"]
            assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        finally:
            await context.close()
