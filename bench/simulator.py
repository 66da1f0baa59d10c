"""Simulator throughput against the Istio objects of a 100-rule policy (issue 3: ≥ 10,000 requests/s).

Plain script, prints figures and asserts nothing:

    .venv/bin/python bench/simulator.py [--rules 100] [--requests 100000]

The policy has RULES rules, each with two to-entries of distinct hosts: an HTTP entry (every
third with httpsUpgrade) and an HTTPS, TLS or TCP entry, sources from ten team namespaces (with
workload selectors) and three shared ones. The request mix has allowed requests (selected
sources), denied ones (unselected workloads of a listed namespace, an unlisted namespace) and
requests to unknown hosts, in equal parts.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from policies.core.expansion import expand_policy
from policies.core.findings import Severity
from policies.core.gateway import GatewayDescription, GatewayPort
from policies.core.simulator import Request, build_mesh
from policies.core.validation import check_policy_data

STREAM = ("HTTPS", "TLS", "TCP")


def _entries(i: int) -> list[dict[str, Any]]:
    http: dict[str, Any] = {
        "name": f"api-{i}-http",
        "hosts": [f"api-{i}.example.com", f"www.api-{i}.example.com"],
        "port": {"name": "http", "number": 80, "protocol": "HTTP"},
        "byEgressGateway": {"port": 80},
    }
    if i % 3 == 0:
        http["httpsUpgrade"] = {"enabled": True, "port": 443}
    protocol = STREAM[i % 3]
    number = {"HTTPS": 443, "TLS": 8443, "TCP": 5000 + i}[protocol]
    stream = {
        "name": f"svc-{i}-{protocol.lower()}",
        "hosts": [f"svc-{i}.example.net"],
        "port": {"name": protocol.lower(), "number": number, "protocol": protocol},
        "byEgressGateway": {"port": 10000 + i},
    }
    return [http, stream]


def policy_data(rules: int) -> dict[str, Any]:
    """A valid policy of ``rules`` rules with two to-entries each."""
    return {
        "apiVersion": "istio.alibabacloud.com/v1",
        "kind": "ASMEgressTrafficPolicy",
        "metadata": {"name": "egress-by-egressgateway", "namespace": "istio-egress"},
        "spec": {
            "byEgressGateway": {"name": "egressgateway"},
            "egressRules": [
                {
                    "from": [
                        {"namespace": f"team-{i % 10}", "workloadSelector": {"app": f"app-{i % 5}"}},
                        {"namespace": f"shared-{i % 3}"},
                    ],
                    "to": _entries(i),
                }
                for i in range(rules)
            ],
        },
    }


def gateway(rules: int) -> GatewayDescription:
    ports = [GatewayPort(name="http-80", number=80, protocol="HTTP")]
    ports += [GatewayPort(name=f"https-{10000 + i}", number=10000 + i, protocol="HTTPS") for i in range(rules)]
    return GatewayDescription(name="egressgateway", ports=tuple(ports))


def _urls(i: int) -> tuple[str, str]:
    protocol = STREAM[i % 3]
    number = {"HTTPS": 443, "TLS": 8443, "TCP": 5000 + i}[protocol]
    return f"http://api-{i}.example.com/anything?n={i}", f"https://svc-{i}.example.net:{number}/"


def request_mix(rules: int) -> list[Request]:
    """Allowed, denied and unknown-host requests in equal parts."""
    requests = []
    for i in range(rules):
        selected = ("team-" + str(i % 10), {"app": f"app-{i % 5}", "version": "v1"})
        unselected = ("team-" + str(i % 10), {"app": "someone-else"})
        for url in _urls(i):
            requests.append(Request(*selected, url))
            requests.append(Request(*unselected, url, "POST"))
            requests.append(Request("outsider", {"app": "x"}, url))
        requests.append(Request(f"shared-{i % 3}", {}, f"http://unknown-{i}.example.org/"))
        requests.append(Request(f"shared-{i % 3}", {}, f"https://unknown-{i}.example.org/"))
        requests.append(Request("outsider", {}, f"https://svc-{i}.example.net:9999/"))
    return requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--requests", type=int, default=100_000)
    args = parser.parse_args()

    data, description = policy_data(args.rules), gateway(args.rules)
    parsed = check_policy_data(data, description)
    errors = [f for f in parsed.findings if f.severity is Severity.ERROR]
    assert parsed.policy is not None and not errors, errors  # a broken generator would measure nothing
    objects = expand_policy(parsed.policy, description)

    started = time.perf_counter()
    mesh = build_mesh(objects, gateway=description)
    build_ms = (time.perf_counter() - started) * 1000

    requests = request_mix(args.rules)
    started = time.perf_counter()
    statuses: dict[Any, int] = {}
    for request in requests:  # first pass: per-namespace views are built on first use
        status = mesh.simulate(request).status
        statuses[status] = statuses.get(status, 0) + 1
    first_pass = time.perf_counter() - started

    rounds = max(1, args.requests // len(requests))
    started = time.perf_counter()
    for _ in range(rounds):
        for request in requests:
            mesh.simulate(request)
    elapsed = time.perf_counter() - started
    total = rounds * len(requests)

    distinct = [
        Request(r.source_namespace, r.source_labels, f"{r.url}{'&' if '?' in r.url else '?'}unique={n}", r.method)
        for n, r in enumerate(requests * rounds)
    ]
    started = time.perf_counter()
    for request in distinct:
        mesh.simulate(request)
    elapsed_distinct = time.perf_counter() - started

    print(f"policy: {args.rules} rules, {2 * args.rules} to-entries -> {len(objects)} Istio objects")
    print(f"index build (build_mesh): {build_ms:.1f} ms")
    print(f"first pass, {len(requests)} requests incl. lazy namespace views: {first_pass * 1000:.1f} ms")
    print(f"request mix by status: {dict(sorted(statuses.items(), key=str))}")
    print(
        f"steady state, the mix repeated: {total} requests in {elapsed:.2f} s = {total / elapsed:,.0f} requests/s "
        f"({elapsed / total * 1e6:.1f} µs each)"
    )
    print(f"all-distinct URLs (nothing repeated): {len(distinct)} requests in {elapsed_distinct:.2f} s = "
          f"{len(distinct) / elapsed_distinct:,.0f} requests/s")  # fmt: skip


if __name__ == "__main__":
    main()
