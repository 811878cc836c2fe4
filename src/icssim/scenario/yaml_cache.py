"""A cache of read scenario files: the data, each key's line and comment, keyed by the file's bytes.

Reading a scenario with ruamel's round-trip loader (which keeps lines and comments) takes most of
``icssim validate``'s own time: 0.1 s for ed_integrated.yaml and the base it extends. A file read
before is taken from its JSON here instead, in a few milliseconds. The key is the SHA-256 of the
file's bytes, of the reader's source and of ruamel's version, so an edited file, an edited reader
or another ruamel reads afresh. Only files that were read without a problem are stored; entries
are JSON (nothing in the cache can run code) and written atomically. A cache that cannot be read
or written is ignored; at most :data:`MAX_ENTRIES` files are kept.

Where: ``$ICSSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/icssim``, else ``~/.cache/icssim``;
``ICSSIM_CACHE_DIR=off`` turns it off.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

#: A key of a mapping that no YAML scenario can hold (NUL bytes are refused): marks a date.
_DATE, _DATETIME = "\x00date", "\x00datetime"
#: Bump when the stored form changes.
FORMAT = "1"
#: Most files kept: beyond it the least recently written half goes (a test run reads hundreds
#: of scenario files that are never read again).
MAX_ENTRIES = 500


def cache_dir() -> Path | None:
    """The folder of cached reads, or None when caching is off."""
    where = os.environ.get("ICSSIM_CACHE_DIR")
    if where is not None:
        return None if where.strip().lower() in ("", "off", "0", "no") else Path(where) / "yaml"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "icssim" / "yaml"


def key_of(data: bytes) -> str:
    """The cache key of a file's bytes: they, the reader's source and ruamel's version."""
    from ruamel.yaml import __version__ as ruamel_version

    digest = hashlib.sha256(data)
    for source in (Path(__file__).with_name("yaml_reader.py"), Path(__file__)):
        try:
            digest.update(source.read_bytes())
        except OSError:
            digest.update(b"?")
    digest.update(f"{FORMAT} {ruamel_version}".encode())
    return digest.hexdigest()


def load(key: str) -> tuple[Any, list[tuple[tuple[Any, ...], int]], list[tuple[tuple[Any, ...], str]]] | None:
    """(data, [(key path, line)], [(key path, comment)]) stored under ``key``, or None."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        stored = json.loads((folder / f"{key}.json").read_text(encoding="utf-8"), object_hook=_decode)
        return (stored["data"], [(tuple(p), int(n)) for p, n in stored["lines"]],
                [(tuple(p), str(c)) for p, c in stored["comments"]])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(key: str, data: Any, lines: dict[tuple[Any, ...], int], comments: dict[tuple[Any, ...], str]) -> None:
    """Keep a file's read form under ``key`` (silently nothing when it cannot be written)."""
    folder = cache_dir()
    if folder is None:
        return
    try:
        text = json.dumps({"data": data, "lines": [[list(p), n] for p, n in lines.items()],
                           "comments": [[list(p), c] for p, c in comments.items()]}, default=_encode)
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=folder, suffix=".tmp", delete=False) as tmp:
            tmp.write(text)
        os.replace(tmp.name, folder / f"{key}.json")
        _prune(folder)
    except (OSError, TypeError, ValueError):
        return


def _prune(folder: Path) -> None:
    entries = list(os.scandir(folder))
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda e: e.stat().st_mtime)
    for entry in entries[:len(entries) - MAX_ENTRIES // 2]:
        try:
            os.unlink(entry.path)
        except OSError:
            pass


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {_DATETIME: value.isoformat()}
    if isinstance(value, dt.date):
        return {_DATE: value.isoformat()}
    raise TypeError(f"not stored: {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and _DATE in obj:
        return dt.date.fromisoformat(obj[_DATE])
    if len(obj) == 1 and _DATETIME in obj:
        return dt.datetime.fromisoformat(obj[_DATETIME])
    return obj
