"""Fixtures of the deploy tests: every overlay rendered once per session."""

from __future__ import annotations

import pytest

from tests.deploy.manifests import Rendered, render_overlays


@pytest.fixture(scope="session")
def overlays(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    """Overlay name -> its rendered objects (secret files written into a scratch copy of the tree)."""
    rendered = render_overlays(tmp_path_factory.mktemp("deploy"))
    return {name: Rendered(objects) for name, objects in rendered.items()}
