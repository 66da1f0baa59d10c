"""The audit log's hash chain, without Django: hashing is canonical and any tampering is located."""

from __future__ import annotations

import pytest

from policies.core.audit import entry_hash, first_broken


def chain(count: int) -> list[dict]:
    entries, previous = [], ""
    for index in range(count):
        entry = {
            "id": index + 1,
            "created_at": f"2026-12-03T06:0{index}:00+00:00",
            "actor": "editor",
            "action": "review.submit",
            "policy_id": 7,
            "manifests": [{"kind": "ServiceEntry", "metadata": {"name": f"e{index}"}}],
            "result": {"state": "in_review"},
            "prev_hash": previous,
        }
        entry["hash"] = previous = entry_hash(entry)
        entries.append(entry)
    return entries


def test_an_untouched_chain_verifies():
    assert first_broken(chain(5)) is None
    assert first_broken([]) is None


def test_the_hash_ignores_key_order_and_fields_outside_the_chain():
    entry = chain(1)[0]
    reordered = dict(reversed(list(entry.items())))
    assert entry_hash(reordered) == entry["hash"]
    assert entry_hash({**entry, "id": 999}) == entry["hash"]
    assert len(entry["hash"]) == 64


@pytest.mark.parametrize(
    ("field", "value"),
    [("actor", "mallory"), ("comment", "x"), ("manifests", []), ("result", {"state": "approved"})],
)
def test_a_changed_entry_is_named_with_its_id(field, value):
    entries = chain(4)
    entries[2][field] = value
    broken = first_broken(entries)
    assert broken is not None
    assert broken.entry_id == 3
    assert broken.reason == "its content does not match its hash"


def test_a_removed_entry_breaks_the_link_of_the_next():
    entries = chain(4)
    del entries[1]
    broken = first_broken(entries)
    assert broken is not None
    assert (broken.entry_id, broken.reason) == (3, "its prev_hash does not match the previous entry's hash")


def test_a_rehashed_entry_still_breaks_its_successor():
    entries = chain(3)
    entries[0]["actor"] = "mallory"
    entries[0]["hash"] = entry_hash(entries[0])
    broken = first_broken(entries)
    assert broken is not None
    assert broken.entry_id == 2
