"""The labels that mark an Istio object as generated for one policy (spec §4.1, §4.9).

ownerReferences cannot cross namespaces (the gateway-subset DestinationRule lives in the
gateway namespace), so the console finds, diffs and prunes its objects by these labels instead.
"""

from __future__ import annotations

from policies.core.names import truncate_name

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "asm-egress-console"
POLICY_LABEL = "egress.console/policy"
POLICY_NAMESPACE_LABEL = "egress.console/policy-namespace"


def managed_labels(policy_name: str, policy_namespace: str) -> dict[str, str]:
    """The labels every generated object of a policy carries.

    The policy name is cut like object names (``truncate_name``): a label value holds at most
    63 characters.
    """
    return {
        MANAGED_BY_LABEL: MANAGED_BY_VALUE,
        POLICY_LABEL: truncate_name(policy_name),
        POLICY_NAMESPACE_LABEL: policy_namespace,
    }


def managed_label_selector(policy_name: str, policy_namespace: str | None = None) -> str:
    """The Kubernetes label selector matching every object generated for a policy (§4.9).

    Args:
        policy_name: ``metadata.name`` of the policy.
        policy_namespace: Narrows the selector to one policy namespace when given.

    Returns:
        E.g. ``app.kubernetes.io/managed-by=asm-egress-console,egress.console/policy=egress-by-g``.
    """
    parts = [f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}", f"{POLICY_LABEL}={truncate_name(policy_name)}"]
    if policy_namespace is not None:
        parts.append(f"{POLICY_NAMESPACE_LABEL}={policy_namespace}")
    return ",".join(parts)
