"""Hypothesis-generated policies × generated requests: the simulator must agree with Istio.

Each example is a batch of random valid policies (several rules, selected and namespace-wide
sources, HTTP with and without httpsUpgrade, HTTPS, TLS, TCP, shared host groups, both port
modes, both upgrade styles, a mesh in REGISTRY_ONLY or ALLOW_ANY). For every policy the
requests are: each rule's selected workload, an unselected workload of the same namespace and
a workload of another namespace, to each host of each to-entry on its port, with both schemes.
One harness run answers the whole batch; every disagreement is listed. Shrinking is off: a
failure prints the policies' YAML.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from policies.core.expansion import expand_policy
from policies.core.gateway import TranslationSettings
from policies.core.model import EgressPolicy
from policies.core.yamlio import dump_yaml
from testenv.oracle import IstioOracle, OracleRequest
from tests.oracle.conftest import record_pairs
from tests.oracle.differential import Case, compare
from tests.strategies import gateway_for, valid_policy_data

BATCH = 25
OTHER_NAMESPACE = "elsewhere"


@st.composite
def policy_cases(draw: st.DrawFn) -> tuple[dict[str, Any], TranslationSettings, str]:
    data = draw(valid_policy_data(max_rules=4))
    translation = TranslationSettings(
        port_default=draw(st.sampled_from(("samePort", "asmAuto"))),
        upgrade_style=draw(st.sampled_from(("targetPort", "targetPort", "gatewayPort"))),
    )
    return data, translation, draw(st.sampled_from(("REGISTRY_ONLY", "REGISTRY_ONLY", "REGISTRY_ONLY", "ALLOW_ANY")))


def concrete_host(host: str) -> str:
    """A name a wildcard host covers (or the host itself)."""
    return "any." + host[2:] if host.startswith("*.") else host


def requests_for(policy: EgressPolicy) -> list[OracleRequest]:
    """Selected, unselected and foreign workloads × every host and port, both schemes."""
    workloads: list[tuple[str, dict[str, str]]] = [(OTHER_NAMESPACE, {"app": "outsider"})]
    targets: list[tuple[str, int]] = []
    for _rule_index, _index, rule, to in policy.iter_targets():
        for source in rule.from_ or []:
            selector = dict(source.workloadSelector or {})
            workloads.append((source.namespace or "", {**selector, "app": selector.get("app", "client")}))
            workloads.append((source.namespace or "", {"app": "not-selected-by-any-rule"}))
        assert to.port is not None and to.port.number is not None
        for host in to.hosts or []:
            targets.append((concrete_host(host), to.port.number))
    unique_workloads = list({(ns, tuple(sorted(lab.items()))): (ns, lab) for ns, lab in workloads}.values())
    urls = sorted({f"{scheme}://{host}:{port}/p" for host, port in targets for scheme in ("http", "https")})
    return [OracleRequest(ns, labels, url) for ns, labels in unique_workloads for url in urls]


def case_of(index: int, data: dict[str, Any], translation: TranslationSettings, mesh_mode: str) -> Case:
    policy = EgressPolicy.model_validate(data)
    gateway = gateway_for(policy, translation)
    objects = expand_policy(policy, gateway=gateway, settings=translation)
    return Case(f"generated-{index}", objects, requests_for(policy), gateway, translation, mesh_mode)


@settings(
    max_examples=4,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=st.lists(policy_cases(), min_size=BATCH, max_size=BATCH))
def test_generated_policies_agree_with_istio(oracle: IstioOracle, batch: list[Any]) -> None:
    # given a batch of random valid policies, expanded for a gateway that declares their ports
    cases = [case_of(i, *case) for i, case in enumerate(batch)]

    # when every generated request goes through both simulators
    comparison = compare(oracle, cases)
    record_pairs(comparison.pairs)

    # then Istio accepts every object, and both agree on every request
    policies = {f"generated-{i}": dump_yaml(data) for i, (data, _t, _m) in enumerate(batch)}
    rejected = {case: policies[case] for case in comparison.rejected}
    assert comparison.rejected == {}, (comparison.rejected, rejected)
    failing = {d.case for d in comparison.disagreements}
    assert comparison.disagreements == [], (
        comparison.report() + "\n" + "\n".join(policies[c] for c in sorted(failing)[:3])
    )
