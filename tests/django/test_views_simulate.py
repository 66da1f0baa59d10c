"""Simulate tab endpoints: one request against the editor's document, and the reachability matrix."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.console import scenario_document

pytestmark = pytest.mark.django_db
SIMULATE = "/gateways/egressgateway/simulate/"
MATRIX = "/gateways/egressgateway/reachability/"


def simulate(client, **request):
    """POST one request under scenario 2 (or the given document)."""
    body = {"document": scenario_document("2"), "method": "GET"} | request
    return client.post(SIMULATE, data=json.dumps(body), content_type="application/json")


@pytest.mark.smoke
@pytest.mark.parametrize(
    ("namespace", "labels", "url", "status", "upstream"),
    [
        ("mytest", {"app": "sleep-a"}, "http://httpbin.org/anything", 200, "https://httpbin.org:443/anything"),
        ("mytest", {"app": "sleep-a"}, "https://www.httpbin.org/", 200, "https://www.httpbin.org:443/"),
        ("default", {"app": "nginx"}, "http://httpbin.org/anything", 502, None),
        ("default", {"app": "nginx"}, "https://www.httpbin.org/", "reset", None),
    ],
)
def test_simulate_answers_like_the_seed(admin_client, seed_gateway_record, namespace, labels, url, status, upstream):
    # when
    result = simulate(admin_client, namespace=namespace, labels=labels, url=url).json()
    # then
    assert (result["status"], result["upstream"]) == (status, upstream)
    assert sorted(result) == ["body", "hops", "reason", "status", "upstream"]
    assert result["hops"]


@pytest.mark.parametrize(
    ("request_fields", "code", "path"),
    [
        ({"namespace": "", "url": "http://httpbin.org/"}, "EGRESS-E010", "namespace"),
        ({"namespace": "mytest", "url": "ftp://httpbin.org/"}, "EGRESS-E010", "url"),
        ({"namespace": "mytest", "url": "http://httpbin.org/", "method": "BREW"}, "EGRESS-E010", "method"),
        ({"namespace": "mytest", "url": "http://httpbin.org/", "labels": {"app": 1}}, "EGRESS-E010", "labels"),
        ({"namespace": "mytest", "url": "http://bad_host:99999/"}, "EGRESS-SIM", "url"),
    ],
)
def test_simulate_refuses_a_request_it_cannot_read(admin_client, seed_gateway_record, request_fields, code, path):
    # when
    response = simulate(admin_client, **request_fields)
    # then
    body = response.json()
    assert response.status_code == 400
    assert body["code"].startswith(code)
    assert body["path"] == path


def test_simulate_refuses_an_invalid_policy_with_its_findings(admin_client, seed_gateway_record):
    # given
    document = scenario_document("2")
    document["spec"]["egressRules"][0]["to"][0]["port"]["number"] = 70000
    # when
    response = simulate(admin_client, document=document, namespace="mytest", url="http://httpbin.org/")
    # then
    assert response.status_code == 400
    assert response.json()["code"] == "EGRESS-E001"
    assert "EGRESS-V12" in [f["code"] for f in response.json()["findings"]]


def test_reachability_matrix_covers_sources_and_hosts(admin_client, seed_gateway_record):
    # when
    body = admin_client.post(
        MATRIX, data=json.dumps({"document": scenario_document("2")}), content_type="application/json"
    ).json()
    # then
    assert body["sources"] == ["mytest:app=sleep-a"]
    assert body["urls"] == [
        "http://www.httpbin.org/",
        "http://httpbin.org/",
        "https://www.httpbin.org/",
        "https://httpbin.org/",
    ]
    assert [cell["status"] for cell in body["cells"][0]] == [200, 200, 200, 200]


@pytest.mark.parametrize(
    ("namespace", "labels", "url", "reason", "first_hop"),
    [
        (
            "default",
            {"app": "nginx"},
            "http://httpbin.org/anything",
            "在 REGISTRY_ONLY 模式下，Sidecar default/nginx 不认识 httpbin.org:80，因此由 block_all 返回 502。",
            "Sidecar default/nginx：httpbin.org:80 不在其服务注册表中 → 虚拟主机 block_all（直接响应 502）",
        ),
        (
            "mytest",
            {"app": "sleep-a"},
            "http://httpbin.org/anything",
            "经出口网关放行：www.httpbin.org 收到 https://httpbin.org:443/anything 并返回 200。",
            "Sidecar mytest/sleep-a：路由 via-egressgateway → "
            "outbound|80|httpbin-service-http|egressgateway.istio-system.svc.cluster.local"
            "（mTLS，SNI www.httpbin.org）",
        ),
    ],
)
def test_simulate_explains_in_the_console_language(
    admin_client, seed_gateway_record, namespace, labels, url, reason, first_hop
):
    # given
    body = {"document": scenario_document("2"), "method": "GET", "namespace": namespace, "labels": labels, "url": url}
    # when
    result = admin_client.post(
        SIMULATE, data=json.dumps(body), content_type="application/json", HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).json()
    # then
    assert result["reason"] == reason
    assert result["hops"][0] == first_hop
    assert [hop for hop in result["hops"] if " is not " in hop or " route " in hop] == []


def test_reachability_cells_explain_in_the_console_language(admin_client, seed_gateway_record):
    # when
    body = admin_client.post(
        MATRIX,
        data=json.dumps({"document": scenario_document("2")}),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    ).json()
    # then
    assert [cell["reason"].startswith("经出口网关放行：") for cell in body["cells"][0]] == [True, True, True, True]
