"""The desired objects for a policy on a given cluster: the CR itself (``asm``) or its expansion (``istio``).

ASM's controller expands an ASMEgressTrafficPolicy by itself, so on an ASM cluster the console
applies the CR; on any other Istio mesh it applies the expansion, in the Istio API version the
cluster serves (discovery decides). Either way every object carries the policy's labels, so
prune and delete find them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from policies.cluster.discovery import ASM, Capabilities, Target
from policies.cluster.errors import crd_missing
from policies.cluster.interface import Object
from policies.cluster.scope import PolicyScope
from policies.core.authorization import AuthorizationRule
from policies.core.document import policy_to_data
from policies.core.expansion import expand_policy
from policies.core.gateway import GatewayDescription, TranslationSettings
from policies.core.model import EgressPolicy


@dataclass(frozen=True)
class DesiredState:
    """What a policy should look like on one cluster: target, scope and manifests in apply order."""

    target: Target
    scope: PolicyScope
    objects: list[Object]


def policy_scope(policy: EgressPolicy) -> PolicyScope:
    """The scope (name, namespace) of a validated policy."""
    assert policy.metadata is not None and policy.metadata.name and policy.metadata.namespace
    return PolicyScope(policy.metadata.name, policy.metadata.namespace)


def desired_state(
    policy: EgressPolicy,
    caps: Capabilities,
    *,
    target: Target | None = None,
    gateway: GatewayDescription | None = None,
    settings: TranslationSettings | None = None,
    authorization: list[AuthorizationRule] | None = None,
) -> DesiredState:
    """The manifests to apply for ``policy`` on a cluster with ``caps``.

    Args:
        policy: a policy without validation errors.
        caps: the cluster's discovered capabilities.
        target: ``asm`` or ``istio``; None picks ``asm`` when our CRD is served.
        gateway: the gateway description for the expansion.
        settings: translation settings; their ``api_version`` is replaced by what the cluster serves.
        authorization: gateway authorization rules (``istio`` target only).

    Raises:
        CrdMissing: the target's CRDs are not served.
    """
    chosen = caps.pick_target(target)
    scope = policy_scope(policy)
    if chosen == "asm":
        return DesiredState("asm", scope, [scope.stamp(_asm_manifest(policy, caps))])
    version = caps.istio_version
    if version is None:
        raise crd_missing("virtualservices.networking.istio.io")
    tuned = (settings or TranslationSettings()).model_copy(update={"api_version": version})
    return DesiredState("istio", scope, expand_policy(policy, gateway, tuned, authorization))


def _asm_manifest(policy: EgressPolicy, caps: Capabilities) -> Object:
    data = policy_to_data(policy)
    data.pop("status", None)  # NB: status belongs to ASM's controller (V27); applying it would fight it.
    served = caps.served.get(ASM, ())
    if not served:
        raise crd_missing(f"asmegresstrafficpolicies.{ASM}")
    wanted = str(data.get("apiVersion", "")).rpartition("/")[2]
    # NB: v1 and v1beta1 have identical spec fields (spec §2), so a served sibling version is equivalent.
    data["apiVersion"] = f"{ASM}/{wanted if wanted in served else served[0]}"
    return data
