"""Try requests against a policy before it is applied, with the core's mesh simulator.

The simulator works on the Istio objects the policy expands to, so what it answers is what the
generated configuration would do (spec §5), not a reading of the CR. Only a policy without
errors expands; an invalid one is refused with its findings. Results are rendered with Django's
``gettext``, so reasons and hops follow the console's language (the API and CLI keep English).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _

from policies.core.expansion import expand_policy
from policies.core.gateway import HTTP_FAMILY, GatewayDescription
from policies.core.model import EgressPolicy
from policies.core.simulator import Request, SimulationInputError, Source, build_mesh, reachability_matrix
from policies.core.size import capped
from policies.core.validation import check_policy_data
from policies.services import MAX_FINDINGS, PolicyInvalid, ServiceError, require_answerable, translation_settings

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# The request field each simulator input error is about, so every refusal names its field.
INPUT_FIELDS = {
    "EGRESS-SIM01": "url",
    "EGRESS-SIM02": "url",
    "EGRESS-SIM03": "url",
    "EGRESS-SIM04": "url",
    "EGRESS-SIM05": "method",
    "EGRESS-SIM06": "source",
    "EGRESS-SIM07": "source",
    "EGRESS-SIM08": "meshMode",
}


class SimulationRequestError(ServiceError):
    """The simulator cannot take the request (bad URL, source or object); ``code`` is the simulator's."""

    def __init__(self, error: SimulationInputError) -> None:
        super().__init__(_(error.template).format(**error.params), path=INPUT_FIELDS.get(error.code, ""))
        self.code = error.code


def simulate_request(
    data: Any,
    gateway: GatewayDescription,
    request: Request,
    mesh_mode: str = "REGISTRY_ONLY",
    extra_objects: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The outcome of one request from a workload under the policy ``data``: status, upstream, hops.

    ``mesh_mode`` is the mesh's outbound traffic mode (REGISTRY_ONLY or ALLOW_ANY); ``extra_objects``
    are Istio objects simulated beside the policy's (a cluster's Sidecars).
    """
    try:
        mesh = _mesh(_valid_policy(data, gateway), gateway, mesh_mode, extra_objects)
        return mesh.simulate(request).as_dict(translate=_)
    except SimulationInputError as exc:
        raise SimulationRequestError(exc) from exc


def reachability(
    data: Any,
    gateway: GatewayDescription,
    mesh_mode: str = "REGISTRY_ONLY",
    extra_objects: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Every source of the policy against every URL it names: ``{sources, urls, cells}``."""
    policy = _valid_policy(data, gateway)
    try:
        mesh = _mesh(policy, gateway, mesh_mode, extra_objects)
        matrix = reachability_matrix(mesh, policy_sources(policy), policy_urls(policy))
        return matrix.as_dict(translate=_)
    except SimulationInputError as exc:
        raise SimulationRequestError(exc) from exc


def policy_sources(policy: EgressPolicy) -> list[Source]:
    """Distinct sources (namespace + labels) named in the policy's ``from`` entries, in order."""
    seen: dict[tuple[str, tuple[tuple[str, str], ...]], Source] = {}
    for rule in (policy.spec.egressRules if policy.spec else None) or []:
        for source in rule.from_ or []:
            labels = dict(source.workloadSelector or {})
            key = (source.namespace or "", tuple(sorted(labels.items())))
            seen.setdefault(key, Source(source.namespace or "", labels))
    return list(seen.values())


def policy_urls(policy: EgressPolicy) -> list[str]:
    """One URL per host and target port: ``http://`` for HTTP-family targets, ``https://`` otherwise."""
    urls: list[str] = []
    for _r, _t, _rule, to in policy.iter_targets():
        if to.port is None:  # NB: a valid policy has a port on every target; this only narrows the type.
            continue
        scheme, default = ("http", 80) if to.port.protocol in HTTP_FAMILY else ("https", 443)
        suffix = "" if to.port.number == default else f":{to.port.number}"
        urls.extend(f"{scheme}://{host}{suffix}/" for host in to.hosts or [] if "*" not in host)
    return list(dict.fromkeys(urls))


def _valid_policy(data: Any, gateway: GatewayDescription) -> EgressPolicy:
    require_answerable(data)
    parsed = check_policy_data(data, gateway, translation_settings())
    if parsed.policy is None or any(f.severity == "error" for f in parsed.findings):
        findings = capped(parsed.findings, MAX_FINDINGS)
        raise PolicyInvalid(_("The policy has errors; fix them before simulating."), findings)
    return parsed.policy


def _mesh(
    policy: EgressPolicy, gateway: GatewayDescription, mesh_mode: str, extra_objects: Sequence[dict[str, Any]]
) -> Any:
    objects = [*expand_policy(policy, gateway, translation_settings()), *extra_objects]
    return build_mesh(objects, mesh_mode=mesh_mode, gateway=gateway, settings=translation_settings())
