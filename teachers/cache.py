"""The on-disk answer cache: one JSON file per request, written atomically.

The key is the SHA-256 of the canonical JSON of everything that shapes an answer: provider,
model, prompt version, role, messages, schema and sampling settings. API keys and base URLs
are never part of the key or the file. Each entry is ``<dir>/<key[:2]>/<key>.json`` holding
``{"key": ..., "request": {...}, "answer": {...}}``, written atomically
(:func:`wmil_envs.files.atomic_write_text`), so several processes can share a cache (two writers
of one key write the same answer; a reader never sees half a file).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from wmil_envs.files import atomic_write_text

MODES = ("live", "record", "replay")
"""live: always ask the API, no cache; record: answer hits from the cache, ask and store misses;
replay: the cache only, a miss is an error (reproducible runs, no network)."""


class CacheMiss(LookupError):
    """Replay mode found no cached answer for a request."""


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def cache_key(request: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(request).encode("utf-8")).hexdigest()


class DiskCache:
    """Answers by key under ``root``; see the module docstring for the layout."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser()

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> Any | None:
        """The cached answer, or None when absent or unreadable (a corrupt file is a miss)."""
        try:
            with open(self.path(key), encoding="utf-8") as f:
                entry = json.load(f)
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key or "answer" not in entry:
            return None
        return entry["answer"]

    def put(self, key: str, request: dict[str, Any], answer: Any) -> None:
        text = json.dumps({"key": key, "request": request, "answer": answer}, sort_keys=True)
        atomic_write_text(self.path(key), text)

    def __len__(self) -> int:
        return sum(1 for _ in self.root.glob("*/*.json")) if self.root.exists() else 0
