"""``egress discover`` and ``egress replay`` (issue 13): exit codes, the JSON contract, agreement
with ``egress simulate`` request by request.

Runs in-process through ``call_command``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from policies.management.commands.seed_demo import ensure_seed_gateway
from tests.fixtures.accesslogs import block_all, http, json_line, tcp, text_line, tls
from tests.fixtures.cli import SEED, egress, unexplained, write_file

SCENARIO_1 = str(SEED / "scenario-1.yaml")
PODS = {
    "kind": "List",
    "items": [
        {
            "metadata": {
                "name": "sleep-a-5d8f-q2x7z",
                "namespace": "mytest",
                "labels": {"app": "sleep-a", "pod-template-hash": "5d8f"},
            }
        },
        {"metadata": {"name": "sleep-b-6c9d-r8k4m", "namespace": "mytest", "labels": {"app": "sleep-b"}}},
    ],
}
LOG_LINES = [
    text_line(http("httpbin.org", "54.1.2.3"), pod="sleep-a-5d8f-q2x7z"),
    json_line(tls("httpbin.org", "54.1.2.3"), pod="sleep-a-5d8f-q2x7z"),
    text_line(http("api.example.com", "5.6.7.8"), pod="sleep-b-6c9d-r8k4m"),
    json_line(block_all("blocked.example.com", "9.9.9.9"), pod="sleep-b-6c9d-r8k4m"),
    text_line(tcp("10.1.2.3", 5432), pod="sleep-b-6c9d-r8k4m"),
]


@pytest.fixture
def logs(tmp_path: Path) -> tuple[str, str]:
    """(LOG, PODS.json) paths: sleep-a and sleep-b of mytest calling out, in both encodings."""
    return write_file(tmp_path, "access.log", "\n".join(LOG_LINES) + "\n"), write_file(
        tmp_path, "pods.json", json.dumps(PODS)
    )


def test_discover_prints_a_summary_and_one_row_per_flow(logs) -> None:
    log, pods = logs

    code, out, err = egress("discover", log, "--pods", pods)

    assert (code, err) == (0, "")
    assert out.splitlines()[0] == (
        "5 lines: 5 access-log entries (json 2, text 3), 0 refused, 0 mesh-internal and 0 gateway-own set aside, "
        "5 external flows"
    )
    assert out.splitlines()[1].startswith(
        "mytest/app=sleep-a  →  httpbin.org:80 HTTP  1 lines  [200x1]  via passthrough"
    )


def test_discover_json_has_the_summary_and_flows_contract(logs) -> None:
    log, pods = logs

    code, out, _err = egress("discover", log, "--pods", pods, "--json")

    result = json.loads(out)
    assert (code, list(result), result["summary"]["entries"]) == (0, ["summary", "flows"], 5)
    assert list(result["flows"][0]) == [
        "source", "host", "port", "protocol", "count", "firstSeen", "lastSeen",
        "outcomes", "clusters", "clusterKinds", "reached", "allowedToday",
    ]  # fmt: skip
    assert [(f["host"], f["protocol"], f["allowedToday"]) for f in result["flows"]] == [
        ("httpbin.org", "HTTP", True),
        ("httpbin.org", "TLS", True),
        ("10.1.2.3", "TCP", True),
        ("api.example.com", "HTTP", True),
        ("blocked.example.com", "HTTP", False),
    ]


def test_refused_lines_are_reported_with_their_numbers_and_strict_fails(tmp_path: Path) -> None:
    log = write_file(tmp_path, "mixed.log", "\n".join([LOG_LINES[2], "custom format line", LOG_LINES[2][:80]]) + "\n")

    code, _out, err = egress("discover", log, "--namespace", "mytest", "--labels", "app=sleep-b")
    strict, _out, _err = egress("discover", log, "--namespace", "mytest", "--labels", "app=sleep-b", "--strict")

    assert (code, strict) == (0, 1)
    assert [line.split(" ", 2)[:2] for line in err.splitlines()] == [
        [f"{log}:2:", "EGRESS-LOG03"],
        [f"{log}:3:", "EGRESS-LOG03"],
    ]


def test_discover_reads_stdin(logs) -> None:
    _log, pods = logs

    code, out, _err = egress("discover", "-", "--pods", pods, "--json", stdin="\n".join(LOG_LINES))

    assert (code, json.loads(out)["summary"]["flows"]) == (0, 5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/nonexistent.log"], "egress discover: cannot read '/nonexistent.log'"),
        (["LOG", "--pods", "/nonexistent.json"], "egress discover: cannot read '/nonexistent.json'"),
        (["LOG", "--pods", "BADPODS"], "egress discover: 'BADPODS' is not a pod list (EGRESS-LOG20)"),
        (["LOG", "--labels", "app=x"], "egress discover: --labels needs --namespace"),
        (["JUNK", "--namespace", "mytest"], "egress discover: no line is an access-log line"),
        (["LOG", "-", "-"], "egress discover: '-' (stdin) is given 2 times"),
        (["LOG", "--max-errors", "-1"], "egress discover: --max-errors must be 0 (all) or more"),
        (["/dev/zero"], "egress discover: '/dev/zero' is a device, not a log file"),  # NB: it never ends
    ],
    ids=["missing-log", "missing-pods", "bad-pods", "labels-alone", "all-junk", "stdin-twice", "max-errors", "device"],
)
def test_unusable_input_exits_2_with_a_message(tmp_path: Path, logs, args: list[str], message: str) -> None:
    log, _pods = logs
    bad_pods = write_file(tmp_path, "bad.json", json.dumps({"items": [{"metadata": {"name": "p"}}]}))
    junk = str(tmp_path / "junk.bin")
    Path(junk).write_bytes(b"\x00\x01\xff\xfe" * 100 + b"\nnot a log\n")
    replaced = [{"LOG": log, "BADPODS": bad_pods, "JUNK": junk}.get(arg, arg) for arg in args]

    code, _out, err = egress("discover", *replaced)

    assert code == 2
    assert message.replace("BADPODS", bad_pods) in err


def test_a_proposal_validates_and_replaying_the_logs_against_it_breaks_nothing(tmp_path: Path, logs) -> None:
    # Given
    log, pods = logs
    proposal = str(tmp_path / "proposal.yaml")

    # When
    code, _out, err = egress("discover", log, "--pods", pods, "--propose", proposal)
    validated, _vout, verr = egress("validate", proposal)
    replayed, rout, _rerr = egress("replay", log, "--pods", pods, "--policy-file", proposal, "--json")

    # Then: the TCP flow cannot be named by a host, so it is skipped (and would break)
    assert (code, validated, unexplained(verr)) == (0, 0, "")
    assert "note EGRESS-DISC10: httpbin.org is sent plain HTTP on port 80" in err
    assert "skipped EGRESS-DISC01: mytest/app=sleep-b: Plain TCP to 10.1.2.3:5432" in err
    result = json.loads(rout)
    assert (replayed, result["counts"]) == (1, {"broken": 1, "newly_allowed": 1, "kept": 3, "still_blocked": 0})
    assert [f["url"] for f in result["flows"]] == ["https://10.1.2.3:5432/", "http://blocked.example.com/"]


def test_no_https_upgrade_keeps_plain_http_plain(logs) -> None:
    log, pods = logs

    code, out, err = egress("discover", log, "--pods", pods, "--propose", "-", "--no-https-upgrade")

    assert (code, "httpsUpgrade" in out, "EGRESS-DISC10" in err) == (0, False, False)


def test_replay_exits_1_when_an_observed_flow_would_be_blocked_and_says_which(logs) -> None:
    log, pods = logs

    code, out, _err = egress("replay", log, "--pods", pods, "--policy-file", SCENARIO_1)

    assert code == 1
    assert out.splitlines()[1] == "3 broken, 0 newly allowed, 1 kept, 1 still blocked"
    assert "BROKEN  mytest/app=sleep-b → http://api.example.com/  observed 200x1 → 502:" in out


def test_a_policy_file_after_the_logs_is_the_candidate(logs) -> None:
    log, pods = logs

    code, out, _err = egress("replay", log, SCENARIO_1, "--pods", pods)
    nothing, _out, err = egress("replay", log, "--pods", pods)

    assert (code, out.splitlines()[1]) == (1, "3 broken, 0 newly allowed, 1 kept, 1 still blocked")
    assert (nothing, err.strip()) == (
        2,
        "egress replay: name the candidate: --policy NAME, --policy-file FILE, or a policy FILE after the logs",
    )


def test_replay_exits_0_when_nothing_observed_breaks(tmp_path: Path, logs) -> None:
    _log, pods = logs
    log = write_file(tmp_path, "a.log", LOG_LINES[0] + "\n")

    code, out, _err = egress("replay", log, "--pods", pods, "--policy-file", SCENARIO_1)

    assert (code, out.splitlines()[1]) == (0, "0 broken, 0 newly allowed, 1 kept, 0 still blocked")


@pytest.mark.parametrize("mode", ["REGISTRY_ONLY", "ALLOW_ANY"])
def test_replay_agrees_with_egress_simulate_request_by_request(logs, mode: str) -> None:
    log, pods = logs

    _code, out, _err = egress(
        "replay", log, "--pods", pods, "--policy-file", SCENARIO_1, "--json", "--all", "--mesh-mode", mode
    )

    flows = json.loads(out)["flows"]
    assert len(flows) == 5
    for replayed in flows:
        source = replayed["flow"]["source"]
        labels = ",".join(f"{k}={v}" for k, v in source["labels"].items())
        _c, sim_out, _e = egress(
            "simulate",
            SCENARIO_1,
            "--source",
            f"{source['namespace']}:{labels}",
            "--url",
            replayed["url"],
            "--json",
            "--mesh-mode",
            mode,
        )
        simulated: dict[str, Any] = json.loads(sim_out)
        assert (replayed["status"], replayed["upstream"], replayed["reason"]) == (
            simulated["status"],
            simulated["upstream"],
            simulated["reason"],
        )


def test_an_invalid_candidate_is_a_usage_error(tmp_path: Path, logs) -> None:
    log, pods = logs
    broken = write_file(tmp_path, "bad.yaml", Path(SCENARIO_1).read_text().replace("number: 80", "number: 0"))

    code, _out, err = egress("replay", log, "--pods", pods, "--policy-file", broken)

    assert code == 2
    assert "is not a valid policy; nothing was replayed" in err


@pytest.mark.django_db
def test_replay_of_a_stored_policy_uses_its_working_draft(logs) -> None:
    log, pods = logs
    ensure_seed_gateway()
    assert egress("import", SCENARIO_1)[0] == 0

    code, out, _err = egress("replay", log, "--pods", pods, "--policy", "egress-by-egressgateway")
    missing, _out, err = egress("replay", log, "--pods", pods, "--policy", "nope")
    no_revision, _out, rerr = egress(
        "replay", log, "--pods", pods, "--policy", "egress-by-egressgateway", "--revision", "7"
    )

    assert (code, out.splitlines()[1]) == (1, "3 broken, 0 newly allowed, 1 kept, 1 still blocked")
    assert (missing, err.strip()) == (2, "egress replay: no stored policy named 'nope' (see `egress import`)")
    assert (no_revision, rerr.strip()) == (2, "egress replay: policy 'egress-by-egressgateway' has no revision 7")


def test_a_proposal_extends_a_base_policy_and_counts_what_it_already_allowed(tmp_path: Path, logs) -> None:
    # Given: scenario 1 lets mytest/sleep-a reach httpbin.org over HTTP
    log, pods = logs

    # When
    code, out, err = egress("discover", log, "--pods", pods, "--propose", "-", "--base", SCENARIO_1)
    without_propose, _out, usage = egress("discover", log, "--pods", pods, "--base", SCENARIO_1)

    # Then: its rules stay, the new flows are added, and the result validates
    assert (code, without_propose, usage.strip()) == (0, 2, "egress discover: --base needs --propose FILE")
    assert "proposal: 3 flows newly allowed, 1 already allowed, 1 skipped" in err
    assert out.startswith(Path(SCENARIO_1).read_text().split("  egressRules:")[0])
    assert "note EGRESS-DISC05: httpbin.org is listed with www.httpbin.org in the draft" in err
    proposal = write_file(tmp_path, "p.yaml", out)
    replayed, rout, _rerr = egress("replay", log, "--pods", pods, "--policy-file", proposal, "--json")
    assert (egress("validate", proposal)[0], replayed, json.loads(rout)["counts"]["broken"]) == (0, 1, 1)
