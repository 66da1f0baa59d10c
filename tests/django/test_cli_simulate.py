"""``egress simulate`` and ``egress matrix``: exit codes, the JSON contract, the text forms.

Runs in-process; the one argparse usage error runs a real process (``tests.fixtures.cli``
says why).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from policies.seed import seed_text
from tests.fixtures.cli import SEED, egress, egress_process, unexplained, write_file

SCENARIO_1, SCENARIO_2, SCENARIO_2A = (str(SEED / f"scenario-{n}.yaml") for n in ("1", "2", "2a"))
DENY = str(SEED / "authorization-deny-post.yaml")
SLEEP_A = "mytest:app=sleep-a"


def simulate_json(*args: str) -> dict[str, Any]:
    code, out, err = egress("simulate", *args, "--json")
    assert (code, unexplained(err)) == (0, ""), err
    return json.loads(out)


def test_upgraded_request_reaches_httpbin_over_https() -> None:
    # Given scenario 2 (httpsUpgrade) / When sleep-a calls http://httpbin.org/anything
    result = simulate_json(SCENARIO_2, "--source", SLEEP_A, "--url", "http://httpbin.org/anything")

    # Then the JSON has exactly the contract keys, and httpbin receives HTTPS on 443
    assert list(result) == ["status", "upstream", "body", "hops", "reason"]
    assert (result["status"], result["upstream"], result["body"]) == (200, "https://httpbin.org:443/anything", None)
    assert result["hops"][0].startswith("sidecar mytest/sleep-a: route via-egressgateway → outbound|80|")


def test_workload_of_another_namespace_gets_502() -> None:
    result = simulate_json(SCENARIO_2, "--source", "default:app=nginx", "--url", "http://httpbin.org/anything")
    assert (result["status"], result["upstream"], result["body"]) == (502, None, None)


def test_deny_policy_file_rejects_post_with_403() -> None:
    # Given scenario 1 and the seed's DENY policy, in two files
    result = simulate_json(SCENARIO_1, DENY, "--source", SLEEP_A, "--url", "http://www.httpbin.org", "--method", "POST")

    # Then the gateway answers 403 with Envoy's RBAC body
    assert (result["status"], result["upstream"], result["body"]) == (403, None, "RBAC: access denied")


def test_policy_and_istio_objects_may_share_one_file(tmp_path: Path) -> None:
    both = write_file(tmp_path, "both.yaml", seed_text("scenario-1") + "\n---\n" + seed_text("authorization-deny-post"))
    result = simulate_json(both, "--source", SLEEP_A, "--url", "http://httpbin.org/", "--method", "post")
    assert (result["status"], result["body"]) == (403, "RBAC: access denied")


def test_without_files_there_is_no_policy() -> None:
    assert simulate_json("--source", SLEEP_A, "--url", "http://www.httpbin.org")["status"] == 502
    assert simulate_json("--source", SLEEP_A, "--url", "https://www.httpbin.org")["status"] == "reset"


def test_allow_any_mesh_passes_unknown_hosts_through() -> None:
    result = simulate_json("--source", "default", "--url", "http://example.org/x", "--mesh-mode", "ALLOW_ANY")
    assert (result["status"], result["upstream"]) == (200, "http://example.org:80/x")


def test_upgrade_style_flag_changes_the_expansion() -> None:
    # Given the printed single-entry scenario 2a / When sleep-a calls https://www.httpbin.org
    target_port = simulate_json(SCENARIO_2A, "--source", SLEEP_A, "--url", "https://www.httpbin.org")
    gateway_port = simulate_json(
        SCENARIO_2A, "--source", SLEEP_A, "--url", "https://www.httpbin.org", "--upgrade-style", "gatewayPort"
    )

    # Then the default style resets, the gatewayPort style goes direct (spec §5 S2-3a)
    assert (target_port["status"], gateway_port["status"]) == ("reset", 200)
    assert gateway_port["upstream"] == "https://www.httpbin.org:443/"


def test_text_output_is_a_readable_summary() -> None:
    # Given / When
    code, out, err = egress("simulate", SCENARIO_1, "--source", SLEEP_A, "--url", "https://www.httpbin.org")

    # Then
    assert (code, unexplained(err)) == (0, "")
    assert out.splitlines() == [
        "reset  GET https://www.httpbin.org  from mytest:app=sleep-a",
        "upstream: (none: the request never leaves the mesh)",
        "path:",
        "  1. sidecar mytest/sleep-a: no filter chain for SNI www.httpbin.org on port 443 → BlackHoleCluster (UH)",
        "reason: The sidecar mytest/sleep-a does not know www.httpbin.org:443 under REGISTRY_ONLY and closes the "
        "connection (BlackHoleCluster).",
    ]


def test_invalid_policy_exits_1_with_located_findings(tmp_path: Path) -> None:
    # Given scenario 1 with an Envoy-reserved port
    broken = write_file(tmp_path, "broken.yaml", seed_text("scenario-1").replace("number: 80", "number: 15001"))

    # When / Then
    code, out, err = egress("simulate", broken, "--source", SLEEP_A, "--url", "http://httpbin.org")
    assert (code, out) == (1, "")
    assert f"{broken}:21: EGRESS-V12 error spec.egressRules[0].to[0].port.number:" in err


def test_object_the_simulator_cannot_read_exits_1(tmp_path: Path) -> None:
    config_map = write_file(tmp_path, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    code, out, err = egress("simulate", config_map, "--source", SLEEP_A, "--url", "http://httpbin.org")
    assert (code, out) == (1, "")
    assert err.startswith("egress simulate: EGRESS-SIM11: ConfigMap default/x: the simulator models")


def test_unreadable_yaml_exits_1(tmp_path: Path) -> None:
    bad = write_file(tmp_path, "bad.yaml", "kind: [unclosed\n")
    code, out, err = egress("simulate", bad, "--source", SLEEP_A, "--url", "http://httpbin.org")
    assert (code, out) == (1, "")
    assert err.startswith(f"{bad}:")


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.yaml")
    cases = {
        ("--source", SLEEP_A, "--url", "ftp://httpbin.org"): "Unsupported URL scheme 'ftp'",
        ("--source", "mytest:app", "--url", "http://httpbin.org"): "label 'app' must be key=value",
        ("--source", SLEEP_A, "--url", "http://httpbin.org", "--method", "GET POST"): "is not an HTTP method",
        (missing, "--source", SLEEP_A, "--url", "http://httpbin.org"): f"cannot read '{missing}'",
    }
    for args, message in cases.items():
        code, out, err = egress("simulate", *args)
        assert (code, out) == (2, ""), args
        assert err.startswith("egress simulate: ") and message in err, err


def test_policies_for_two_gateways_are_a_usage_error(tmp_path: Path) -> None:
    other = seed_text("scenario-3").replace("egressgateway", "egressgateway-a")
    code, _out, err = egress(
        "simulate", SCENARIO_1, write_file(tmp_path, "other.yaml", other), "--source", SLEEP_A, "--url", "http://x.org"
    )
    assert code == 2
    assert "the policies name different gateways (egressgateway, egressgateway-a)" in err


def test_missing_source_flag_is_an_argparse_usage_error() -> None:
    process = egress_process("simulate", "--url", "http://httpbin.org")
    assert process.returncode == 2
    assert "the following arguments are required: --source" in process.stderr


def test_matrix_json_has_one_cell_per_source_and_url() -> None:
    # Given scenario 2 / When three sources try three URLs
    code, out, err = egress(
        "matrix", SCENARIO_2,
        "--sources", SLEEP_A, "mytest:app=sleep-b", "default:app=nginx",
        "--urls", "http://httpbin.org/anything", "https://www.httpbin.org", "https://www.alibabacloud.com",
        "--json",
    )  # fmt: skip

    # Then
    assert (code, unexplained(err)) == (0, "")
    matrix = json.loads(out)
    assert list(matrix) == ["sources", "urls", "cells"]
    assert matrix["sources"] == [SLEEP_A, "mytest:app=sleep-b", "default:app=nginx"]
    assert [[cell["status"] for cell in row] for row in matrix["cells"]] == [
        [200, 200, "reset"],
        [502, "reset", "reset"],
        [502, "reset", "reset"],
    ]
    assert matrix["cells"][0][0]["upstream"] == "https://httpbin.org:443/anything"
    assert list(matrix["cells"][0][0]) == ["status", "upstream", "reason"]


def test_matrix_text_is_a_table_of_statuses() -> None:
    code, out, err = egress(
        "matrix", SCENARIO_1, "--sources", SLEEP_A, "default", "--urls", "http://httpbin.org/", "https://httpbin.org/"
    )
    assert (code, unexplained(err)) == (0, "")
    assert out.splitlines() == [
        "SOURCE \\ URL        http://httpbin.org/  https://httpbin.org/",
        "mytest:app=sleep-a  200                  reset",
        "default             502                  reset",
    ]


def test_matrix_usage_error_exits_2() -> None:
    code, out, err = egress("matrix", "--sources", "Bad_NS", "--urls", "http://httpbin.org")
    assert (code, out) == (2, "")
    assert err.startswith("egress matrix: Source 'Bad_NS'")


@pytest.mark.parametrize(
    ("flags", "gateway_host"),
    [
        (("--gateway-namespace", "egress-gw"), "egressgateway.egress-gw.svc.cluster.local"),
        (("--api-version", "v1beta1"), "egressgateway.istio-system.svc.cluster.local"),
        (("--port-default", "asmAuto"), "egressgateway.istio-system.svc.cluster.local"),
    ],
)
def test_render_settings_flags_reach_the_expansion(flags: tuple[str, str], gateway_host: str) -> None:
    # Given scenario 1 and the seed's DENY policy (in the root namespace, so it applies in any gateway namespace)
    result = simulate_json(
        SCENARIO_1, DENY, "--source", SLEEP_A, "--url", "http://httpbin.org/x", "--method", "POST", *flags
    )

    # Then the request goes to the gateway the settings describe, which denies it
    assert (result["status"], result["body"]) == (403, "RBAC: access denied")
    assert f"|httpbin-service-http|{gateway_host} (mTLS" in result["hops"][0]


def test_asm_auto_gateway_port_counts_as_a_gateway_service_port() -> None:
    # Given scenario 4 (TCP, no gateway port: asmAuto allocates 10001) and a gateway declaring only 80 and 443
    scenario_4 = str(SEED / "scenario-4.yaml")
    flags = ("--port-default", "asmAuto", "--gateway-ports", "80/HTTP,443/HTTPS")

    # When the selected source calls the TCP target
    result = simulate_json(scenario_4, "--source", SLEEP_A, "--url", "https://www.alibabacloud.com/", *flags)

    # Then ASM has added 10001 to the gateway Service, as `egress validate` says, and the request passes
    assert (result["status"], result["upstream"]) == (200, "https://www.alibabacloud.com:443/")
    assert "|10001|aliyun-service-tcp|egressgateway.istio-system.svc.cluster.local (mTLS" in result["hops"][1]


def test_a_hand_written_match_listing_gateways_is_flagged_and_simulated_as_istio_does() -> None:
    # given hand-written objects whose http match lists gateways: [mesh] beside sourceLabels
    old_shape = str(Path(__file__).parents[1] / "unit" / "simulator_fixtures" / "scenario-1-old-shape.yaml")

    # when a workload the sourceLabels do not select asks for the host
    code, out, err = egress("simulate", old_shape, "--source", "mytest:app=sleep-b", "--url", "http://www.httpbin.org/")

    # then it gets through, as on a real mesh, and the match is flagged at its line with the reason
    assert (code, out.splitlines()[0]) == (0, "200  GET http://www.httpbin.org/  from mytest:app=sleep-b")
    assert err == (
        f"{old_shape}:71: EGRESS-I01 warning spec.http[0].match[0]: This http match lists gateways, so Istio "
        "ignores its sourceNamespace and sourceLabels: every workload the VirtualService is visible to takes this "
        "route. Remove the match's gateways (the VirtualService's own gateways already bind it) to select "
        "workloads.\n"
    )
