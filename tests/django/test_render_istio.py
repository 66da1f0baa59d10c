"""``manage.py egress render FILE --target istio``: the expansion on stdout, settings from flags."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from policies.cli import render
from policies.core.expansion import ExpansionError
from policies.seed import seed_text
from tests.fixtures.cli import REPO, SEED, egress, unexplained, write_file
from tests.istio_schema import assert_schema_valid

GOLDEN = REPO / "tests" / "unit" / "golden"


@pytest.mark.parametrize(
    ("scenario", "flags", "golden"),
    [
        ("1", (), "scenario-1"),
        ("2", (), "scenario-2"),
        ("2a", (), "scenario-2a"),
        ("3", (), "scenario-3"),
        ("4", (), "scenario-4"),
        ("2", ("--api-version", "v1beta1"), "scenario-2-v1beta1"),
        ("2a", ("--upgrade-style", "gatewayPort"), "scenario-2a-gatewayPort"),
        ("4", ("--port-default", "asmAuto"), "scenario-4-asmAuto"),
    ],
)
def test_render_istio_prints_the_expansion_in_apply_order(scenario: str, flags: tuple[str, ...], golden: str) -> None:
    # when a seed policy is rendered for Istio with the given settings flags
    code, out, err = egress("render", str(SEED / f"scenario-{scenario}.yaml"), "--target", "istio", *flags)

    # then stdout is the golden multi-document YAML and nothing is reported
    assert (code, unexplained(err)) == (0, "")
    assert out == (GOLDEN / f"{golden}.yaml").read_text(encoding="utf-8")


def test_gateway_namespace_flag_moves_the_gateway_side(tmp_path: Path) -> None:
    # when scenario 3 is rendered for a gateway in namespace istio-gateways
    code, out, _err = egress(
        "render", str(SEED / "scenario-3.yaml"), "--target", "istio", "--gateway-namespace", "istio-gateways"
    )

    # then the gateway-subset DestinationRule lives there and targets that Service; all is schema-valid
    objects = list(yaml.safe_load_all(out))
    rule = next(obj for obj in objects if obj["kind"] == "DestinationRule")
    assert (code, rule["metadata"]["namespace"], rule["spec"]["host"]) == (
        0,
        "istio-gateways",
        "egressgateway.istio-gateways.svc.cluster.local",
    )
    for obj in objects:
        assert_schema_valid(obj)


def test_render_istio_refuses_an_invalid_policy(tmp_path: Path) -> None:
    # given scenario 1 with a reserved port
    path = write_file(tmp_path, "broken.yaml", seed_text("scenario-1").replace("number: 80", "number: 15001"))

    # when rendered for Istio, then nothing is printed and the finding explains why
    code, out, err = egress("render", path, "--target", "istio")
    assert (code, out) == (1, "")
    assert "EGRESS-V12 error spec.egressRules[0].to[0].port.number" in err


def test_an_expansion_error_is_reported_like_a_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    # given an expansion that refuses the policy
    def refuse(*_args: object) -> str:
        raise ExpansionError("EGRESS-X02", "spec.egressRules[0].to[1].hosts", "Host {host} overlaps.", host="a.example")

    monkeypatch.setitem(render.RENDERERS, "istio", refuse)

    # when rendered, then exit 1 with the error's code and path, and no YAML
    code, out, err = egress("render", str(SEED / "scenario-1.yaml"), "--target", "istio")
    assert (code, out) == (1, "")
    assert err.endswith("EGRESS-X02 error spec.egressRules[0].to[1].hosts: Host a.example overlaps.\n")


@pytest.mark.parametrize(
    ("flag", "value", "field"),
    [
        ("--upgrade-ca-credential", "httpbin-ca", "credentialName"),
        ("--upgrade-ca-certificates", "/etc/ssl/certs/ca-certificates.crt", "caCertificates"),
    ],
)
def test_a_ca_makes_the_gateway_verify_upgraded_tls(flag: str, value: str, field: str) -> None:
    # given scenario 2 (httpsUpgrade) rendered with a CA for the gateway
    code, out, err = egress("render", str(SEED / "scenario-2.yaml"), "--target", "istio", flag, value)

    # then the upgrade DestinationRule verifies the server, and V20a (IST0129) is gone
    upgrade = next(o for o in yaml.safe_load_all(out) if o["metadata"]["name"].endswith("-upgrade"))
    assert upgrade["spec"]["trafficPolicy"]["portLevelSettings"][0]["tls"] == {"mode": "SIMPLE", field: value}
    assert (code, err) == (0, "")
