"""Expansion of an ASMEgressTrafficPolicy into plain Istio objects (spec §4).

ASM expands the policy out of sight; the console does it in the open, so the result can be
previewed, diffed, applied to any Istio mesh and fed to the request simulator. The output is
the desired state of one policy: plain dicts in apply order (ServiceEntry, DestinationRule,
Gateway, VirtualService, AuthorizationPolicy), every object labelled so that the console can
find and prune it later (§4.1, §4.9).

Public API:

- ``expand_policy(policy, gateway=None, settings=None, authorization=None) -> list[dict]``
- ``expand_deletion(policy) -> list[dict]`` (always empty: the desired state of a deleted policy)
- ``managed_label_selector(policy_name, policy_namespace=None) -> str``
- ``ExpansionError`` (stable ``EGRESS-X..`` codes)
"""

from __future__ import annotations

from policies.core.authorization import AuthorizationRule, authorization_policy
from policies.core.expansion.errors import ExpansionError
from policies.core.expansion.labels import managed_label_selector, managed_labels
from policies.core.expansion.objects import (
    IstioObject,
    gateway_destination_rule,
    gateway_object,
    service_entry,
    upgrade_destination_rule,
)
from policies.core.expansion.plan import ExpansionPlan, plan_policy
from policies.core.expansion.routes import gateway_virtual_service, mesh_virtual_service
from policies.core.gateway import GatewayDescription, TranslationSettings
from policies.core.gcpause import paused_gc
from policies.core.model import EgressPolicy

APPLY_ORDER = ("ServiceEntry", "DestinationRule", "Gateway", "VirtualService", "AuthorizationPolicy")

__all__ = [
    "APPLY_ORDER",
    "ExpansionError",
    "IstioObject",
    "expand_deletion",
    "expand_policy",
    "managed_label_selector",
    "managed_labels",
]


def expand_policy(
    policy: EgressPolicy,
    gateway: GatewayDescription | None = None,
    settings: TranslationSettings | None = None,
    authorization: list[AuthorizationRule] | None = None,
) -> list[IstioObject]:
    """The Istio objects that implement ``policy``, in apply order.

    Args:
        policy: A policy without validation errors (``validate_policy``).
        gateway: The egress gateway as the console knows it; when given, its name (rather than
            ``spec.byEgressGateway.name``) derives the gateway Service host and pod selector.
        settings: Translation settings (gateway namespace, Service host, pod selector, port
            default, upgrade style, API version); defaults when omitted.
        authorization: Gateway authorization rules rendered as AuthorizationPolicy objects.

    Returns:
        ServiceEntries, DestinationRules, the Gateway, VirtualServices, then AuthorizationPolicies;
        within a kind, host groups in document order.

    Raises:
        ExpansionError: a required field is missing or entries contradict each other.
    """
    with paused_gc():  # NB: keeps a 10,000-entry expansion linear (see gcpause).
        return _expand(plan_policy(policy, gateway, settings or TranslationSettings()), authorization or [])


def _expand(plan: ExpansionPlan, authorization: list[AuthorizationRule]) -> list[IstioObject]:
    objects: list[IstioObject] = [service_entry(plan, group) for group in plan.groups]
    objects.append(gateway_destination_rule(plan))
    objects.extend(rule for group in plan.groups if (rule := upgrade_destination_rule(plan, group)) is not None)
    objects.append(gateway_object(plan))
    for group in plan.groups:
        objects.append(mesh_virtual_service(plan, group))
        objects.append(gateway_virtual_service(plan, group))
    objects.extend(
        authorization_policy(rule, plan.settings, plan.gateway_name, plan.labels) for rule in authorization or ()
    )
    return objects


def expand_deletion(policy: EgressPolicy) -> list[IstioObject]:
    """The desired state of a deleted policy: no objects at all (§4.9).

    The applier deletes every live object that ``managed_label_selector`` finds and the
    desired state does not contain, so deleting is applying this empty list.
    """
    del policy  # NB: a deleted policy owns nothing, whatever it contained.
    return []
