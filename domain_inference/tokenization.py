"""Text to encoder input tensors, with the truncation and padding recorded in the artifacts.

Layer: domain (serving side). Imports only numpy and tokenizers, never torch or
transformers, so the Triton model and the in-process path can share it.

The shipped `tokenizer.json` of all-MiniLM-L6-v2 carries truncation at 128 tokens and fixed
padding to 128, and `Tokenizer.from_file` applies both; the encoder was exported for 256
tokens and batch-longest padding. `TokenizerSettings` therefore always overrides both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

__all__ = ["TextTokenizer", "TokenizedBatch", "TokenizerSettings"]


@dataclass(frozen=True)
class TokenizerSettings:
    """How texts are cut and padded before the encoder; stored in the artifacts' metadata.

    Attributes:
        max_length: Most tokens per text, special tokens included.
        truncation_strategy: Name understood by `Tokenizer.enable_truncation`.
        truncation_direction: Which end is cut, "right" or "left".
        pad_id: Id written into padded positions.
        pad_token: Token string of `pad_id`.
        pad_type_id: Token type id of padded positions.
        padding_direction: Which end is padded, "right" or "left".
        pad_to_multiple_of: Round the padded length up to a multiple of this, or None.
    """

    max_length: int = 256
    truncation_strategy: str = "longest_first"
    truncation_direction: str = "right"
    pad_id: int = 0
    pad_token: str = "[PAD]"
    pad_type_id: int = 0
    padding_direction: str = "right"
    pad_to_multiple_of: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TokenizerSettings:
        """Build settings from `to_dict` output.

        Raises:
            ValueError: A key is unknown or `max_length` is not positive.
        """
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown tokenizer settings: {sorted(unknown)}")
        settings = cls(**dict(data))
        if settings.max_length < 2:
            raise ValueError(f"max_length must be at least 2, got {settings.max_length}")
        return settings


@dataclass(frozen=True)
class TokenizedBatch:
    """Encoder inputs for a batch of texts, padded to the longest text in the batch.

    Attributes:
        input_ids: int64 array of shape (n, seq).
        attention_mask: int64 array of shape (n, seq); 1 for real tokens.
        token_counts: Tokens the encoder sees per text, special tokens included.
        full_token_counts: Tokens per text before truncation, special tokens included.
        truncated: Whether each text lost tokens to truncation.
    """

    input_ids: npt.NDArray[np.int64]
    attention_mask: npt.NDArray[np.int64]
    token_counts: tuple[int, ...]
    full_token_counts: tuple[int, ...]
    truncated: tuple[bool, ...]

    def __len__(self) -> int:
        return len(self.token_counts)


class TextTokenizer:
    """A `tokenizers.Tokenizer` configured by `TokenizerSettings`."""

    def __init__(self, tokenizer: Tokenizer, settings: TokenizerSettings) -> None:
        """Apply `settings` to `tokenizer`, replacing whatever its JSON carried.

        Args:
            tokenizer: A loaded tokenizer; it is reconfigured in place.
            settings: Truncation and padding to apply.
        """
        tokenizer.enable_truncation(
            max_length=settings.max_length,
            stride=0,
            strategy=settings.truncation_strategy,
            direction=settings.truncation_direction,
        )
        tokenizer.enable_padding(
            direction=settings.padding_direction,
            pad_id=settings.pad_id,
            pad_type_id=settings.pad_type_id,
            pad_token=settings.pad_token,
            length=None,
            pad_to_multiple_of=settings.pad_to_multiple_of,
        )
        self._tokenizer = tokenizer
        self._settings = settings

    @classmethod
    def from_file(cls, path: Path, settings: TokenizerSettings) -> TextTokenizer:
        """Load a `tokenizer.json` and apply `settings`.

        Raises:
            FileNotFoundError: `path` does not exist.
        """
        if not path.is_file():
            raise FileNotFoundError(f"tokenizer file not found: {path}")
        return cls(Tokenizer.from_file(str(path)), settings)

    @property
    def settings(self) -> TokenizerSettings:
        """The settings in force."""
        return self._settings

    def encode(self, texts: Sequence[str]) -> TokenizedBatch:
        """Tokenise `texts` into int64 encoder inputs.

        Args:
            texts: Texts to encode; an empty string becomes [CLS] [SEP].

        Returns:
            The batch, in the order of `texts`. An empty `texts` gives arrays of shape (0, 0).
        """
        if not texts:
            empty = np.zeros((0, 0), dtype=np.int64)
            return TokenizedBatch(empty, empty.copy(), (), (), ())
        encodings = self._tokenizer.encode_batch(list(texts))
        input_ids = np.array([e.ids for e in encodings], dtype=np.int64)
        attention_mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        kept = attention_mask.sum(axis=1)
        token_counts = tuple(int(k) for k in kept)
        full_counts: list[int] = []
        for count, encoding in zip(token_counts, encodings, strict=True):
            # Each overflow piece repeats the special tokens that the kept piece already counts.
            specials = self._special_token_count(encoding)
            extra = sum(sum(o.attention_mask) - specials for o in encoding.overflowing)
            full_counts.append(count + extra)
        truncated = tuple(full > kept_count for full, kept_count in zip(full_counts, token_counts, strict=True))
        return TokenizedBatch(input_ids, attention_mask, token_counts, tuple(full_counts), truncated)

    @staticmethod
    def _special_token_count(encoding: Any) -> int:
        return int(sum(encoding.special_tokens_mask) - (len(encoding.ids) - sum(encoding.attention_mask)))
