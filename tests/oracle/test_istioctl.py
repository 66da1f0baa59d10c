"""``istioctl validate`` and ``istioctl analyze`` (built from the same Istio module) on expansions.

Every expansion passes ``istioctl validate``. ``istioctl analyze --use-kube=false -A`` over the
expansion plus the gateway's Service and Pod reports no errors, and each warning it reports is
explained to the user by a validation finding at the entry that causes it:

- IST0129 (DestinationRule TLS SIMPLE without caCertificates) → V20a at ``httpsUpgrade``, gone
  when the gateway has a CA (``upgrade_ca_credential`` / ``upgrade_ca_certificates``);
- IST0134 (ServiceEntry addresses required for this protocol) → V10d at the TCP entry's port.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from policies.core.expansion import expand_policy
from policies.core.gateway import TranslationSettings
from policies.core.model import EgressPolicy
from policies.core.validation import validate_policy
from testenv.oracle import IstioOracle, World, world_job
from tests.fixtures.seed import seed_policy
from tests.oracle.differential import gateway_spec
from tests.strategies import gateway_for, valid_policy_data

EXPLAINED_BY = {"IST0129": "EGRESS-V20A", "IST0134": "EGRESS-V10D"}
MESSAGE = re.compile(r"^(Error|Warning|Info) \[(IST\d+)\] \((\w+) ([\w.-]+)/([\w.-]+)")
CASES = {
    "1": TranslationSettings(),
    "2": TranslationSettings(),
    "2-ca-secret": TranslationSettings(upgrade_ca_credential="httpbin-ca"),
    "2-ca-bundle": TranslationSettings(upgrade_ca_certificates="/etc/ssl/certs/ca-certificates.crt"),
    "2-gatewayPort": TranslationSettings(upgrade_style="gatewayPort"),
    "2a": TranslationSettings(),
    "3": TranslationSettings(),
    "4": TranslationSettings(),
    "4-asmAuto": TranslationSettings(port_default="asmAuto"),
}


def write_expansion(directory: Path, name: str, policy: EgressPolicy, translation: TranslationSettings) -> Path:
    """The expansion plus the gateway's Kubernetes objects, as istioctl reads files."""
    gateway = gateway_for(policy, translation)
    objects = expand_policy(policy, gateway, translation)
    kube = world_job(World(name, objects, gateway=gateway_spec(gateway, translation)))["kube"]
    path = directory / f"{name}.yaml"
    path.write_text("\n---\n".join([*(json.dumps(o) for o in objects), kube]), encoding="utf-8")
    return path


def analyzer_messages(oracle: IstioOracle, path: Path) -> list[tuple[str, str, str]]:
    """(level, code, kind namespace/name) of every message ``istioctl analyze`` prints."""
    done = oracle.istioctl_run("analyze", "--use-kube=false", "-A", str(path))
    assert "Error [" not in done.stdout + done.stderr, done.stdout + done.stderr
    found = []
    for line in (done.stdout + done.stderr).splitlines():
        match = MESSAGE.match(line)
        if match:
            level, code, kind, namespace, name = match.groups()
            found.append((level, code, f"{kind} {namespace}/{name}"))
    return found


def assert_explained(
    messages: list[tuple[str, str, str]], policy: EgressPolicy, translation: TranslationSettings
) -> None:
    codes = {f.code for f in validate_policy(policy, gateway_for(policy, translation), translation)}
    unexplained = [m for m in messages if EXPLAINED_BY.get(m[1]) not in codes]
    assert unexplained == [], (unexplained, sorted(codes))


@pytest.mark.parametrize("case", sorted(CASES))
def test_istioctl_accepts_every_seed_expansion_and_every_warning_is_explained(
    oracle: IstioOracle, tmp_path: Path, case: str
) -> None:
    # given a seed scenario expanded with its settings
    translation = CASES[case]
    policy = seed_policy(case.split("-")[0])
    path = write_expansion(tmp_path, f"scenario-{case}", policy, translation)

    # when istioctl validates and analyzes it
    validated = oracle.istioctl_run("validate", "-f", str(path))
    messages = analyzer_messages(oracle, path)

    # then it is valid, has no analyzer error, and each warning has its explaining finding
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert_explained(messages, policy, translation)
    codes = {code for _level, code, _where in messages}
    # NB: the analyzer does not look into subsets, so the gatewayPort style's unverified TLS
    # gets no IST0129; V20a still says it.
    assert ("IST0129" in codes) == (case in {"2", "2a"})
    assert ("IST0134" in codes) == case.startswith("4")


@st.composite
def policy_cases(draw: st.DrawFn) -> tuple[dict[str, Any], TranslationSettings]:
    data = draw(valid_policy_data(max_rules=4))
    translation = TranslationSettings(
        port_default=draw(st.sampled_from(("samePort", "asmAuto"))),
        upgrade_style=draw(st.sampled_from(("targetPort", "gatewayPort"))),
    )
    return data, translation


@settings(max_examples=1, deadline=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
@given(batch=st.lists(policy_cases(), min_size=20, max_size=20))
def test_istioctl_accepts_generated_expansions(oracle: IstioOracle, tmp_path_factory: Any, batch: list[Any]) -> None:
    # given random valid policies, expanded
    directory = tmp_path_factory.mktemp("istioctl")
    paths = []
    for index, (data, translation) in enumerate(batch):
        policy = EgressPolicy.model_validate(data)
        paths.append((write_expansion(directory, f"generated-{index}", policy, translation), policy, translation))

    # when istioctl validates all of them at once and analyzes each
    validated = oracle.istioctl_run("validate", *(arg for path, _p, _t in paths for arg in ("-f", str(path))))

    # then every object is valid, and every analyzer warning is explained by a finding
    assert validated.returncode == 0, validated.stdout + validated.stderr
    for path, policy, translation in paths:
        assert_explained(analyzer_messages(oracle, path), policy, translation)
