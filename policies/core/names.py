"""Names of the Istio objects derived from a policy, kept within Kubernetes' length limits.

Generated objects are named after the policy and a to-entry (spec §4.2): ``{P}-{k}``,
``{P}-{k}-mesh``, ``{P}-{k}-gw``, ``{P}-{k}-upgrade``. Such names can outgrow the 63-character
limit of a DNS-1123 label (and of a label value, where ``{P}`` is also written). Spec §4.1 fixes
one deterministic cut so that validation (V28) and the expansion agree on every name: keep the
first 54 characters, then ``-`` and the first 8 hex digits of sha256(full name).
"""

from __future__ import annotations

import hashlib

MAX_NAME_LENGTH = 63
HASH_LENGTH = 8

SERVICE_ENTRY = "service_entry"
MESH_VIRTUAL_SERVICE = "mesh_virtual_service"
GATEWAY_VIRTUAL_SERVICE = "gateway_virtual_service"
UPGRADE_DESTINATION_RULE = "upgrade_destination_rule"

# Role → suffix after ``{P}-{k}`` (spec §4.2, objects 2, 4, 5 and 6).
DERIVED_SUFFIXES = {
    SERVICE_ENTRY: "",
    MESH_VIRTUAL_SERVICE: "-mesh",
    GATEWAY_VIRTUAL_SERVICE: "-gw",
    UPGRADE_DESTINATION_RULE: "-upgrade",
}


def truncate_name(name: str, limit: int = MAX_NAME_LENGTH) -> str:
    """``name`` itself when it fits ``limit``, else a cut name ending in a hash of the full name.

    Args:
        name: The full derived name.
        limit: Maximum length (63 for DNS-1123 labels and label values).

    Returns:
        ``name`` unchanged, or ``name[:limit - 9] + "-" + sha256(name)[:8]`` (exactly ``limit`` long).
    """
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:HASH_LENGTH]
    return f"{name[: limit - HASH_LENGTH - 1]}-{digest}"


def derived_names(policy_name: str, target_name: str) -> dict[str, str]:
    """The per-target object names of spec §4.2, already truncated.

    Args:
        policy_name: ``metadata.name`` of the policy (``P``).
        target_name: ``to[].name`` of the entry that names the host group (``k``).

    Returns:
        Role → name, for the ServiceEntry, the two VirtualServices and the upgrade DestinationRule.
    """
    base = f"{policy_name}-{target_name}"
    return {role: truncate_name(f"{base}{suffix}") for role, suffix in DERIVED_SUFFIXES.items()}
