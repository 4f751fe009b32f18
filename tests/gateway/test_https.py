"""The gateway's OpenAI-compatible front over HTTPS, with client certificates (throwaway CA)."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from gateway.server import HTTP_FRONT
from tests.gateway.conftest import running_gateway
from tests.support.keys import raw_key
from tests.support.pki import Pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki.create(tmp_path_factory.mktemp("pki"))


async def test_the_http_front_serves_https_and_requires_a_client_certificate(pki: Pki, tmp_path: Path):
    async with running_gateway(tmp_path, http={"port": 0, "tls": pki.listener_tls("localhost")}) as gw:
        url = f"https://localhost:{gw.server[HTTP_FRONT].port}/v1/models"
        headers = {"Authorization": f"Bearer {raw_key('acme-user')}"}
        async with aiohttp.ClientSession() as session:
            async with session.get(url, headers=headers, ssl=pki.ssl_context("openai-client")) as resp:
                assert resp.status == 200
                assert (await resp.json())["object"] == "list"
            with pytest.raises(aiohttp.ClientError):  # no client certificate: the handshake fails
                async with session.get(url, headers=headers, ssl=pki.ssl_context(None)):
                    pass
            with pytest.raises(aiohttp.ClientError):  # plaintext to a TLS port
                async with session.get(url.replace("https:", "http:"), headers=headers):
                    pass
