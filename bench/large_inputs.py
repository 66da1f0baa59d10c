"""Prints how long the largest allowed inputs take on every path that reads a whole policy.

Issue 10 (item 10): a 5,000-rule document (1.1 MB, under the console's 2 MiB form limit) took
2.7-3.5 s to preview and 1.4-2.0 s to be refused by save, and a 3,000-rule ``/api/v1/validate/``
3.4 s with a 3.3 MB answer. This prints, for policies of growing size, one valid and one with an
error in every rule: the body size, the wall time of the console preview (JSON and YAML text),
the console save, the API validate, and the answer's size. Requests go through Django's full
stack on a throwaway SQLite database; the figures include everything but the network.
Nothing is asserted: compare the figures with the limits in the README.

A rule here is one source and one destination, so 500 rules are the console's limit of 1,000
sources and destinations (``MAX_POLICY_ENTRIES``); larger policies are refused with 413.

Run: .venv/bin/python bench/large_inputs.py [--rules 250,500,501,3000,5000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import _console  # noqa: F401 - sets Django up on a throwaway database
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token

from policies import services
from policies.core.yamlio import dump_yaml
from policies.management.commands.seed_demo import ensure_seed_gateway
from policies.models import PolicyDraft
from tests.fixtures.console import SEED_POLICY, scenario_document

SHAPES = ("valid", "with errors", "50 hosts each")


def document(rules: int, shape: str) -> dict[str, Any]:
    """A policy of ``rules`` one-source, one-target rules; the target's gateway port is undeclared
    ``with errors``, and the target lists 50 hosts (the most allowed) in ``50 hosts each``."""
    hosts = 50 if shape == "50 hosts each" else 1
    data = scenario_document("2")
    data["spec"]["egressRules"] = [
        {
            "from": [{"namespace": f"team-{r % 7}", "workloadSelector": {"app": f"client-{r}"}}],
            "to": [
                {
                    "name": f"svc-{r}",
                    "hosts": [f"h{h}.svc-{r}.example.com" for h in range(hosts)],
                    "port": {"name": "http", "number": 80, "protocol": "HTTP"},
                    "byEgressGateway": {"port": 8080 if shape == "with errors" else 80},
                }
            ],
        }
        for r in range(rules)
    ]
    return data


def setup() -> tuple[Client, Client]:
    """Console client and API client (token) of a user, with the seed policy stored."""
    call_command("migrate", verbosity=0)
    ensure_seed_gateway()
    user = get_user_model().objects.create_superuser("bench", password="bench-password-1")
    services.create_policy(scenario_document("2"), user=user, message="bench")
    console = Client(HTTP_HOST="127.0.0.1")
    console.force_login(user)
    api = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return console, api


def timed(send: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Best wall time in seconds of ``repeats`` calls, and the last response."""
    best, response = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        response = send()
        best = min(best, time.perf_counter() - start)
    return best, response


def save(console: Client, data: dict[str, Any]) -> Any:
    """Save ``data`` as the next draft version (so a valid save is a real save, never a 412)."""
    version = PolicyDraft.objects.get(policy__name=SEED_POLICY).version
    body = json.dumps({"document": data, "version": version})
    return console.post(f"/policies/{SEED_POLICY}/save/", body, content_type="application/json")


def paths(console: Client, api: Client, data: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    """The requests to time, each reading the whole policy."""
    as_json = json.dumps({"document": data})
    as_text = json.dumps({"text": dump_yaml(data)})

    def preview(body: str) -> Any:
        return console.post("/gateways/egressgateway/preview/", body, content_type="application/json")

    return {
        "preview (JSON)": lambda: preview(as_json),
        "preview (YAML text)": lambda: preview(as_text),
        "save": lambda: save(console, data),
        "API validate": lambda: api.post("/api/v1/validate/", json.dumps(data), content_type="application/json"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", default="250,500,501,3000,5000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("django.request").setLevel(logging.ERROR)  # NB: every refusal would log a warning
    console, api = setup()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; best of {args.repeats} runs, wall time")
    for rules in map(int, args.rules.split(",")):
        for shape in SHAPES:
            data = document(rules, shape)
            size = len(json.dumps(data)) / 1e6
            label = f"{rules:>5} rules {shape:<13} ({size:.2f} MB JSON)"
            for name, send in paths(console, api, data).items():
                seconds, response = timed(send, args.repeats)
                answer = f"HTTP {response.status_code}  {len(response.content) / 1e3:8.0f} KB"
                print(f"{label}  {name:<20} {seconds:6.2f} s  {answer}")


if __name__ == "__main__":
    main()
