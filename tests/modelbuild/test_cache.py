"""The build's stage cache: a hit returns what a miss produced, a failed stage leaves nothing, old entries go."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from modelbuild.cache import BuildCache, cache_key
from modelbuild.progress import BuildProgress


def test_a_second_request_for_the_same_key_reuses_the_entry(tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "cache")
    runs: list[Path] = []

    def produce(folder: Path) -> None:
        runs.append(folder)
        (folder / "out.txt").write_text("computed")

    key = cache_key({"inputs": [1, 2, 3]})
    first = cache.entry("stage", key, produce)
    second = cache.entry("stage", key, produce)
    assert first == second and len(runs) == 1 and cache.hits == ["stage"]
    assert (second / "out.txt").read_text() == "computed"
    assert cache_key({"inputs": [1, 2, 3]}) == key != cache_key({"inputs": [1, 2, 4]})


def test_a_failing_stage_leaves_no_entry(tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "cache")

    def crash(folder: Path) -> None:
        (folder / "half.txt").write_text("partial")
        raise RuntimeError("stage crashed")

    with pytest.raises(RuntimeError, match="stage crashed"):
        cache.entry("stage", "k1", crash)
    assert list((tmp_path / "cache" / "stage").iterdir()) == []
    produced = cache.entry("stage", "k1", lambda folder: (folder / "full.txt").write_text("ok") and None)
    assert [p.name for p in produced.iterdir() if not p.name.startswith(".")] == ["full.txt"]


def test_only_the_newest_entries_are_kept(tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "cache", keep=2)
    for key in ("a", "b", "c"):
        cache.entry("stage", key, lambda folder: None)
    assert sorted(p.name for p in (tmp_path / "cache" / "stage").iterdir()) == ["b", "c"]


def test_a_disabled_cache_always_computes(tmp_path: Path) -> None:
    cache = BuildCache(None)
    count = [0]

    def produce(folder: Path) -> None:
        count[0] += 1

    cache.entry("stage", "k", produce)
    cache.entry("stage", "k", produce)
    assert count[0] == 2 and cache.hits == []


def test_progress_reports_stages_and_the_last_count() -> None:
    stream = io.StringIO()
    progress = BuildProgress(stream, every_s=3600)
    progress.stage("embedding 3 texts")
    progress.count(1, 3)
    progress.count(3, 3)
    lines = stream.getvalue().splitlines()
    assert lines[0].endswith("embedding 3 texts") and "3/3 texts (100%)" in lines[-1]
    assert len(lines) == 2, "intermediate counts are throttled, the last one always printed"
