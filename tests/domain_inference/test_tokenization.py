"""Tests for domain_inference.tokenization against the built artifacts' tokenizer."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from domain_inference.artifacts import ModelArtifacts
from domain_inference.tokenization import TextTokenizer, TokenizerSettings
from modelbuild.sources import locate_sources

LONG_TEXT = " ".join(f"word{i % 50}" for i in range(600))


@pytest.fixture(scope="module")
def tokenizer(artifacts: ModelArtifacts) -> TextTokenizer:
    return TextTokenizer.from_file(artifacts.encoder.tokenizer_path, artifacts.encoder.tokenizer_settings)


def test_recorded_settings_override_the_shipped_128_limits(artifacts: ModelArtifacts) -> None:
    settings = artifacts.encoder.tokenizer_settings
    assert settings == TokenizerSettings(max_length=256, pad_id=0, pad_token="[PAD]")
    shipped = artifacts.encoder.tokenizer_path.read_text(encoding="utf-8")
    assert '"max_length": 128' in shipped or '"max_length":128' in shipped


def test_long_text_is_truncated_at_256_and_reports_it(tokenizer: TextTokenizer) -> None:
    batch = tokenizer.encode([LONG_TEXT, "short text"])
    assert batch.input_ids.shape == (2, 256)
    assert batch.token_counts == (256, int(batch.attention_mask[1].sum()))
    assert batch.truncated == (True, False)
    assert batch.full_token_counts[0] > 256
    assert batch.full_token_counts[1] == batch.token_counts[1]


def test_pads_to_longest_in_batch_with_int64(tokenizer: TextTokenizer) -> None:
    batch = tokenizer.encode(["a", "a slightly longer sentence here", ""])
    assert batch.input_ids.dtype == np.int64 and batch.attention_mask.dtype == np.int64
    assert batch.input_ids.shape[1] == max(batch.token_counts)
    assert batch.token_counts[2] == 2
    assert batch.input_ids[2, :2].tolist() == [101, 102]
    assert (batch.input_ids[batch.attention_mask == 0] == 0).all()
    assert batch.attention_mask.sum(axis=1).tolist() == list(batch.token_counts)


def test_empty_batch(tokenizer: TextTokenizer) -> None:
    batch = tokenizer.encode([])
    assert batch.input_ids.shape == (0, 0) and len(batch) == 0


def test_settings_round_trip_and_reject_unknown_keys() -> None:
    settings = TokenizerSettings(max_length=128, pad_to_multiple_of=8)
    assert TokenizerSettings.from_dict(settings.to_dict()) == settings
    with pytest.raises(ValueError, match="unknown"):
        TokenizerSettings.from_dict({"max_length": 256, "stride": 3})


def test_ids_match_transformers_fast_tokenizer(tokenizer: TextTokenizer) -> None:
    transformers = pytest.importorskip("transformers")
    reference = transformers.AutoTokenizer.from_pretrained(str(locate_sources().minilm_dir), local_files_only=True)
    texts = ["Café naïve résumé", "北京是中国的首都", "Great goal ⚽🔥", LONG_TEXT, ""]
    expected = reference(texts, truncation=True, max_length=256, padding="longest")
    batch = tokenizer.encode(texts)
    assert batch.input_ids.tolist() == expected["input_ids"]
    assert batch.attention_mask.tolist() == expected["attention_mask"]


def test_serving_modules_do_not_import_torch() -> None:
    code = (
        "import sys, domain_inference.tokenization, domain_inference.artifacts, modelbuild; "
        "heavy = [m for m in ('torch', 'transformers', 'onnx') if m in sys.modules]; "
        "sys.exit(1 if heavy else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
