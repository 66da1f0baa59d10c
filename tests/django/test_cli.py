"""The ``egress`` management command: exit codes, output formats, flags, and import.

Most tests run in-process; the few that check argparse usage errors run a real process
(``tests.fixtures.cli`` says why).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from policies.cli import render
from policies.core.crd import crd_manifest
from policies.core.yamlio import load_one
from policies.management.commands.seed_demo import ensure_seed_gateway
from policies.models import EgressPolicy
from policies.seed import seed_text
from tests.fixtures.cli import SEED, egress, egress_process, unexplained, write_file

V10B_SCENARIO_1 = (
    "EGRESS-V10B info spec.egressRules[0].to[0].hosts: All hosts of this entry must resolve to the same addresses: "
    "traffic for each of them is sent to www.httpbin.org. This cannot be checked offline."
)


def broken_policy(tmp_path: Path) -> str:
    """Scenario 1 with a reserved port (line 21) and a misnamed policy (line 4)."""
    text = (
        seed_text("scenario-1")
        .replace("number: 80", "number: 15001")
        .replace("name: egress-by-egressgateway", "name: egress-x")
    )
    return write_file(tmp_path, "broken.yaml", text)


def test_validate_a_valid_file_exits_0_and_lists_infos() -> None:
    code, out, err = egress("validate", str(SEED / "scenario-1.yaml"))
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"{SEED / 'scenario-1.yaml'}:16: {V10B_SCENARIO_1}",
        "1 file(s) checked: 0 error(s), 0 warning(s), 1 info(s).",
    ]


def test_validate_an_invalid_file_exits_1_with_file_line_code_severity_path_message(tmp_path: Path) -> None:
    path = broken_policy(tmp_path)
    code, out, _err = egress("validate", path)
    assert code == 1
    assert out.splitlines() == [
        f"{path}:4: EGRESS-V3 error metadata.name: metadata.name is 'egress-x'; the policy of gateway "
        "'egressgateway' must be named 'egress-by-egressgateway' (one policy per gateway).",
        f"{path}:16: {V10B_SCENARIO_1}",
        f"{path}:21: EGRESS-V12 error spec.egressRules[0].to[0].port.number: Port 15001 is reserved by Envoy/Istio "
        "(15000, 15001, 15004, 15006, 15008, 15009, 15020, 15021, 15053, 15090); use another port.",
        "1 file(s) checked: 2 error(s), 0 warning(s), 1 info(s).",
    ]


def test_validate_json_lists_objects_with_the_documented_keys(tmp_path: Path) -> None:
    path = broken_policy(tmp_path)
    code, out, _err = egress("validate", "--json", path)
    records = json.loads(out)
    assert (code, list(records[0])) == (1, ["file", "line", "code", "severity", "path", "message"])
    assert [(r["file"], r["line"], r["code"], r["severity"], r["path"]) for r in records] == [
        (path, 4, "EGRESS-V3", "error", "metadata.name"),
        (path, 16, "EGRESS-V10B", "info", "spec.egressRules[0].to[0].hosts"),
        (path, 21, "EGRESS-V12", "error", "spec.egressRules[0].to[0].port.number"),
    ]


def test_validate_reads_stdin_for_dash() -> None:
    code, out, _err = egress("validate", "--json", "-", stdin=seed_text("scenario-3"))
    assert (code, [(r["file"], r["code"]) for r in json.loads(out)]) == (0, [("<stdin>", "EGRESS-V10B")])


def test_validate_unreadable_file_exits_2_but_checks_the_others(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.yaml")
    code, out, err = egress("validate", missing, str(SEED / "scenario-3.yaml"))
    assert code == 2
    assert err == f"egress validate: cannot read '{missing}': No such file or directory\n"
    assert out.splitlines()[-1] == "1 file(s) checked: 0 error(s), 0 warning(s), 1 info(s)."


def test_validate_unparseable_yaml_is_invalid_input_with_a_line(tmp_path: Path) -> None:
    path = write_file(tmp_path, "bad.yaml", "apiVersion: x\nkind: [\n")
    code, out, _err = egress("validate", "--json", path)
    assert (code, [(r["code"], r["line"]) for r in json.loads(out)]) == (1, [("EGRESS-Y03", 3)])


def test_validate_exit_code_is_the_worst_of_all_files(tmp_path: Path) -> None:
    code, _out, _err = egress("validate", str(SEED / "scenario-2.yaml"), broken_policy(tmp_path))
    assert code == 1


def test_gateway_ports_flag_makes_the_gateway_authoritative() -> None:
    # given scenario 4 (TCP via the default gateway port 443) and a gateway without port 443
    code, out, _err = egress("validate", "--json", "--gateway-ports", "80/HTTP,444/TLS", str(SEED / "scenario-4.yaml"))
    # then the missing port is an error naming the declared ports
    errors = [r for r in json.loads(out) if r["severity"] == "error"]
    assert (code, [(r["code"], r["path"], r["message"]) for r in errors]) == (
        1,
        [
            (
                "EGRESS-V17",
                "spec.egressRules[0].to[0].byEgressGateway",
                "Gateway 'egressgateway' has no Service port 443 (it has 80/HTTP, 444/TLS); use one of its ports "
                "or add port 443 to the gateway.",
            )
        ],
    )


def test_port_default_flag_selects_asm_auto_allocation() -> None:
    code, out, _err = egress("validate", "--json", "--port-default", "asmAuto", str(SEED / "scenario-4.yaml"))
    assert (code, [(r["code"], r["severity"]) for r in json.loads(out)]) == (
        0,
        [("EGRESS-V10D", "info"), ("EGRESS-V16", "info"), ("EGRESS-V17", "info")],
    )


def test_render_asm_prints_the_canonical_policy() -> None:
    scrambled = json.dumps(dict(reversed(list(load_one(seed_text("scenario-2")).data.items()))))
    code, out, err = egress("render", "-", "--target", "asm", stdin=scrambled)
    assert (code, out, unexplained(err)) == (0, seed_text("scenario-2"), "")


def test_render_refuses_an_invalid_policy_and_prints_nothing(tmp_path: Path) -> None:
    code, out, err = egress("render", broken_policy(tmp_path))
    assert (code, out, [line.split(" ")[1] for line in err.splitlines()]) == (1, "", ["EGRESS-V3", "EGRESS-V12"])


def test_render_istio_without_the_expansion_says_so_and_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(render.RENDERERS, "istio", raising=False)
    code, out, err = egress("render", str(SEED / "scenario-1.yaml"), "--target", "istio")
    assert (code, out) == (2, "")
    assert err == (
        "egress render: --target istio: the Istio expansion is not available yet; use --target asm for "
        "the canonical ASMEgressTrafficPolicy.\n"
    )


def test_render_uses_a_registered_renderer_with_gateway_and_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a renderer registered for istio (the expansion adds its own the same way)
    seen: list[Any] = []
    monkeypatch.setitem(render.RENDERERS, "istio", lambda p, g, s: seen.append((p.gateway_name, g, s)) or "kind: X\n")
    # when rendering with gateway flags
    code, out, _err = egress(
        "render",
        str(SEED / "scenario-1.yaml"),
        "--target",
        "istio",
        "--gateway-ports",
        "80/HTTP",
        "--port-default",
        "asmAuto",
    )
    # then the renderer's text is printed and it received the described gateway and settings
    gateway, settings = seen[0][1], seen[0][2]
    assert (code, out, seen[0][0]) == (0, "kind: X\n", "egressgateway")
    assert ([(p.number, p.protocol) for p in gateway.ports], settings.port_default) == ([(80, "HTTP")], "asmAuto")


def test_crd_prints_the_manifest() -> None:
    code, out, _err = egress("crd")
    assert (code, load_one(out).data) == (0, crd_manifest())


@pytest.mark.django_db
def test_import_creates_then_updates_the_policy_draft() -> None:
    # given the seed gateway in the database
    ensure_seed_gateway()
    # when scenario 1 then scenario 2 are imported
    first = egress("import", str(SEED / "scenario-1.yaml"))
    second = egress("import", str(SEED / "scenario-2.yaml"), "--message", "add https")
    # then the first creates the policy and the second becomes a new draft version of it
    assert first == (
        0,
        "created policy istio-egress/egress-by-egressgateway (gateway egressgateway, draft version "
        "1); nothing was applied to the cluster.\n",
        "",
    )
    assert second == (
        0,
        "updated policy istio-egress/egress-by-egressgateway (gateway egressgateway, draft version "
        "2); nothing was applied to the cluster.\n",
        "",
    )
    policy = EgressPolicy.objects.get()
    assert len(policy.draft.document["spec"]["egressRules"][0]["to"]) == 2


@pytest.mark.django_db
def test_import_names_the_missing_gateway() -> None:
    code, out, err = egress("import", str(SEED / "scenario-1.yaml"))
    assert (code, out, EgressPolicy.objects.count()) == (1, "", 0)
    assert err == (
        "egress import: the console has no egress gateway named 'egressgateway' "
        "(spec.byEgressGateway.name); create it first (e.g. in the admin, or 'make run' for the seed "
        "gateway), then import again. Nothing was imported.\n"
    )


@pytest.mark.django_db
def test_import_of_an_invalid_policy_prints_findings_and_stores_nothing(tmp_path: Path) -> None:
    ensure_seed_gateway()
    path = broken_policy(tmp_path)
    code, out, err = egress("import", path)
    assert (code, out, EgressPolicy.objects.count()) == (1, "", 0)
    assert [line.split(" ")[:3] for line in err.splitlines()] == [
        [f"{path}:4:", "EGRESS-V3", "error"],
        [f"{path}:16:", "EGRESS-V10B", "info"],
        [f"{path}:21:", "EGRESS-V12", "error"],
        ["egress", "import:", "The"],
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "the following arguments are required: SUBCOMMAND"),
        (("validate",), "the following arguments are required: FILE"),
        (
            ("validate", "--gateway-ports", "80/FOO", "x.yaml"),
            "argument --gateway-ports: '80/FOO' is not NUMBER/PROTOCOL",
        ),
        (("render", "x.yaml", "--target", "helm"), "argument --target: invalid choice: 'helm'"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    result = egress_process(*args)
    assert (result.returncode, message in result.stderr) == (2, True), result.stderr
