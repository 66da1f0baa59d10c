"""The audit log's hash chain: each entry's hash covers its content and the previous entry's hash.

Changing, removing or reordering any stored entry breaks the chain from that entry on, so
``first_broken`` finds tampering that the database's own protections (a trigger refusing UPDATE
and DELETE on PostgreSQL) did not prevent, for instance a restored backup that was edited.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

HASHED_FIELDS = (
    "created_at",
    "actor",
    "action",
    "policy_id",
    "policy_name",
    "revision_number",
    "revision_hash",
    "cluster",
    "target",
    "manifests",
    "result",
    "request_id",
    "comment",
    "prev_hash",
)
"""The fields an entry's hash covers (``created_at`` as an ISO 8601 string in UTC)."""


def entry_hash(entry: Mapping[str, Any]) -> str:
    """sha256 of the entry's ``HASHED_FIELDS`` as canonical JSON (sorted keys, no spaces).

    Args:
        entry: the entry's fields; any field not in ``HASHED_FIELDS`` is ignored.

    Returns:
        The hex digest.
    """
    content = {name: entry.get(name) for name in HASHED_FIELDS}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class BrokenLink:
    """Where the chain breaks: the entry's id and why."""

    entry_id: Any
    reason: str


def first_broken(entries: Iterable[Mapping[str, Any]]) -> BrokenLink | None:
    """The first entry, in stored order, whose hash or link to its predecessor is wrong; None if all verify.

    Args:
        entries: the entries in insertion order, each with ``id``, ``hash`` and the ``HASHED_FIELDS``.

    Returns:
        The first broken link, or None.
    """
    previous = ""
    for entry in entries:
        if entry.get("prev_hash") != previous:
            return BrokenLink(entry.get("id"), "its prev_hash does not match the previous entry's hash")
        if entry_hash(entry) != entry.get("hash"):
            return BrokenLink(entry.get("id"), "its content does not match its hash")
        previous = str(entry["hash"])
    return None
