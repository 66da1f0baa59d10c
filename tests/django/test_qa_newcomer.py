"""QA regressions (issue 10, item 12): what a newcomer tripped over outside the editor's script.

The editor's own journeys are in ``tests/browser/test_qa_newcomer.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.fixtures.cli import SEED, egress
from tests.fixtures.console import scenario_document

SCENARIO_2 = str(SEED / "scenario-2.yaml")


def test_matrix_sources_and_urls_may_be_repeated():
    # when --sources and --urls are each given twice
    code, out, err = egress(
        "matrix", SCENARIO_2,
        "--sources", "mytest:app=sleep-a", "--sources", "default:app=nginx",
        "--urls", "http://httpbin.org/", "--urls", "https://www.httpbin.org",
        "--json",
    )  # fmt: skip
    # then every one of them is in the table, in order, not only the last
    assert code == 0, err
    matrix = json.loads(out)
    assert matrix["sources"] == ["mytest:app=sleep-a", "default:app=nginx"]
    assert matrix["urls"] == ["http://httpbin.org/", "https://www.httpbin.org"]


def test_the_readme_runs_the_projects_python():
    readme = Path(settings.BASE_DIR, "README.md").read_text()
    # NB: commands run inside the image (docker compose run/exec, kubectl exec) use its own python.
    in_container = re.compile(r"docker compose (run|exec)|kubectl exec")
    lines = [line for line in readme.splitlines() if not in_container.search(line)]
    bare = [line for line in lines if re.search(r"(^|[\s`(])python manage\.py", line)]
    assert bare == []


@pytest.mark.django_db
def test_favicon_ico_is_the_logo(anonymous_client):
    response = anonymous_client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith("policies/img/logo.svg")


@pytest.mark.django_db
def test_pages_link_the_logo_file_only_as_their_icon(admin_client, seed_gateway_record):
    page = admin_client.get("/gateways/").content.decode()
    assert page.count("logo.svg") == 1
    assert '<link rel="icon"' in page


@pytest.mark.django_db
def test_no_route_is_drawn_for_a_destination_with_errors(admin_client, seed_gateway_record):
    # given scenario 2 with an impossible port on its first destination
    document = scenario_document("2")
    document["spec"]["egressRules"][0]["to"][0]["port"]["number"] = 70000
    # when previewed
    body = admin_client.post(
        "/gateways/egressgateway/preview/", data=json.dumps({"document": document}), content_type="application/json"
    ).json()
    # then that destination has no hop line (not "sidecar :70000"), the valid one keeps its own
    assert sorted(body["hops"]) == ["spec.egressRules[0].to[1]"]
