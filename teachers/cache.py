"""The on-disk answer cache: one JSON file per request, written atomically.

The key is the SHA-256 of the canonical JSON of everything that shapes an answer: provider,
model, prompt version, role, messages, schema and sampling settings; an LLM parent keeps one
cache per server (``teachers.llm``: ``<cache_dir>/server-<digest>``). API keys and URLs are
never part of the key or the file. Each entry is ``<dir>/<key[:2]>/<key>.json`` holding
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
    """Replay mode found no cached answer for a request (or a corrupt one)."""


class CorruptCacheEntry(ValueError):
    """A cache file that exists but cannot be read as an entry; the message names it."""


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
        """The cached answer, None when there is none, CorruptCacheEntry when its file cannot
        be read as an entry of this key."""
        path = self.path(key)
        try:
            with open(path, encoding="utf-8") as f:
                entry = json.load(f)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:  # includes bad UTF-8 and bad JSON
            detail = " ".join(str(error).split())[:120]
            raise CorruptCacheEntry(f"cache file {str(path)!r} is corrupt ({detail})") from None
        if not isinstance(entry, dict) or entry.get("key") != key or "answer" not in entry:
            raise CorruptCacheEntry(
                f"cache file {str(path)!r} is corrupt (not an entry of key {key})"
            )
        return entry["answer"]

    def put(self, key: str, request: dict[str, Any], answer: Any) -> None:
        text = json.dumps({"key": key, "request": request, "answer": answer}, sort_keys=True)
        atomic_write_text(self.path(key), text)

    def __len__(self) -> int:
        return sum(1 for _ in self.root.glob("*/*.json")) if self.root.exists() else 0
