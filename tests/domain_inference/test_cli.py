"""`agentplane models build|list` and `agentplane classify` through the real command parser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentplane.cli.main import build_parser, main
from agentplane.platform import ensure_credentials
from domain_inference.config import DomainInferenceSettings
from domain_inference.server import build_server
from modelbuild.cli import run_build
from tests.domain_inference.triton_support import free_ports
from tests.support.servers import running
from tests.support.settings import test_settings


def _use_data_dir(monkeypatch: pytest.MonkeyPatch, data_dir: Path, artifacts_dir: Path) -> None:
    monkeypatch.setenv("AGENTPLANE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("AGENTPLANE_DOMAIN_INFERENCE__MODELS_DIR", str(artifacts_dir))


def test_models_build_is_wired_to_the_builder() -> None:
    args = build_parser().parse_args(["models", "build", "--force"])
    assert args.func is run_build and args.force is True


def test_models_list(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, artifacts_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _use_data_dir(monkeypatch, tmp_path, artifacts_dir)
    assert main(["models", "list", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(rows) == {"news-topic", "text-encoder"}
    assert rows["news-topic"]["labels"] == ["business", "entertainment", "politics", "sport", "tech"]
    assert rows["news-topic"]["max_tokens"] == 256 and rows["news-topic"]["metrics"]


def test_models_list_without_artifacts_says_how_to_build(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _use_data_dir(monkeypatch, tmp_path, tmp_path / "nothing")
    assert main(["models", "list"]) == 1
    assert "agentplane models build" in capsys.readouterr().err


async def test_classify_calls_the_running_service(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, artifacts_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ensure_credentials(tmp_path)
    settings = test_settings(
        DomainInferenceSettings,
        "domain_inference",
        tmp_path,
        auth={"keys": [], "keys_file": str(tmp_path / "keys.toml")},
        models_dir=str(artifacts_dir),
        triton_client={"address": f"127.0.0.1:{free_ports(1)[0]}"},
    )
    async with running(build_server(settings)) as address:
        _use_data_dir(monkeypatch, tmp_path, artifacts_dir)
        from domain_inference.cli import run_classify

        args = build_parser().parse_args(["classify", "--address", address, "--json", "Chelsea won the cup final."])
        assert args.func is run_classify
        assert await run_classify(args) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)[0]
    assert result["label"] == "sport" and result["path"] == "INFERENCE_PATH_IN_PROCESS"
    assert "degraded: domain_inference.triton" in captured.err


def test_models_group_collects_actions_from_every_plug_in() -> None:
    parser = build_parser()
    assert parser.parse_args(["models", "list"]).func.__module__ == "domain_inference.cli"
    assert parser.parse_args(["models", "build", "--no-cache"]).no_cache is True
