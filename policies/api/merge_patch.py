"""JSON merge patch (RFC 7396), the body of ``PATCH /api/v1/policies/{id}/``.

A merge patch mirrors the custom resource: present keys replace, ``null`` removes, nested
objects merge, and lists are replaced whole. It is the same semantics as
``kubectl patch --type merge``, which is what platform teams already use on the live object.
"""

from __future__ import annotations

import copy
from typing import Any


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """The result of applying ``patch`` to ``target`` (neither argument is modified)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result
