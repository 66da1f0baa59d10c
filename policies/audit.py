"""Writing and checking the audit log: one function appends an entry, one verifies the chain.

Entries are written explicitly by the workflow verbs (never from signals), inside their
transaction, so a refused or rolled-back step leaves no entry. Appends are serialised (an
advisory lock on PostgreSQL; SQLite's writers already queue on the database lock), and the
unique ``prev_hash`` column makes a fork of the chain impossible even if they were not.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import connection, transaction
from django_guid import get_guid

from policies.core.audit import BrokenLink, entry_hash, first_broken
from policies.models import AuditEntry, EgressPolicy, PolicyRevision

CHAIN_LOCK = 0x45475245  # NB: "EGRE": the advisory lock key that serialises appends on PostgreSQL


def append_entry(
    *,
    action: str,
    user: Any = None,
    policy: EgressPolicy | None = None,
    revision: PolicyRevision | None = None,
    cluster: str = "",
    target: str = "",
    manifests: list[Any] | None = None,
    result: dict[str, Any] | None = None,
    comment: str = "",
) -> AuditEntry:
    """Append one entry to the chain (in the caller's transaction, if any) and return it."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])
        previous = AuditEntry.objects.order_by("-pk").values_list("hash", flat=True).first() or ""
        entry = AuditEntry(
            actor=getattr(user, "username", "") or "",
            action=action,
            policy_id=policy.pk if policy else None,
            policy_name=str(policy) if policy else "",
            revision_number=revision.number if revision else None,
            revision_hash=revision.content_hash if revision else "",
            cluster=cluster,
            target=target,
            manifests=manifests or [],
            result=result or {},
            request_id=get_guid() or "",
            comment=comment,
            prev_hash=previous,
        )
        entry.hash = entry_hash(entry.hashed_fields())
        entry.save()
    return entry


def broken_link() -> BrokenLink | None:
    """The first entry whose hash or link is wrong, reading the whole log in insertion order; None if intact."""
    return first_broken(_stored_entries())


def _stored_entries() -> Iterator[dict[str, Any]]:
    for entry in AuditEntry.objects.order_by("pk").iterator(chunk_size=500):
        yield {"id": entry.pk, "hash": entry.hash, **entry.hashed_fields()}
