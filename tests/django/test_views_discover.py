"""The Discover page: upload (413, refused lines with numbers), flows, propose → diff → save, replay, delete."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from policies.models import ObservationUpload, ObservedFlow, PolicyDraft
from policies.views import discover as discover_views
from tests.fixtures.accesslogs import text_line, tls
from tests.fixtures.discovery import NAMESPACE, ingest_sample, sample_log
from tests.fixtures.reviews import user_in_role

pytestmark = pytest.mark.django_db
PAGE = "/discover/"
USERS = itertools.count()


def signed_in(role: str) -> Client:
    client = Client()
    client.force_login(user_in_role(role, f"{role}-{next(USERS)}"))
    return client


def upload(client: Client, data: bytes, **fields: Any) -> Any:
    body = {"gateway": "egressgateway", "namespace": NAMESPACE, "labels": "app=sleep-a", **fields}
    body["logs"] = SimpleUploadedFile("sleep-a.log", data)
    return client.post(f"{PAGE}upload/?gateway=egressgateway", body)


def test_the_page_is_in_the_navigation_and_lists_no_flows_at_first(seed_gateway_record) -> None:
    page = signed_in("viewer").get(PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/discover/"' in html and "No observed flows" in html
    assert 'data-testid="upload-form"' not in html  # NB: viewers read only


def test_an_upload_redirects_to_its_summary_and_groups_flows_by_source(seed_gateway_record) -> None:
    client = signed_in("editor")
    junk = "2024-05-01T10:00:00.000000Z\tinfo\tpilot-agent starting"
    response = upload(client, sample_log([junk]))
    assert response.status_code == 302
    page = client.get(response["Location"])
    html = page.content.decode()
    assert 'data-testid="ingest-summary"' in html
    assert "sleep-a.log:6" in html and "EGRESS-LOG06" in html
    assert html.count('name="flow"') == 4 and 'data-source="mytest/app=sleep-a"' in html
    assert 'data-testid="recent-uploads"' in html and "sleep-a.log" in html


def test_a_file_with_no_log_line_stores_nothing_and_shows_each_line(seed_gateway_record) -> None:
    response = upload(signed_in("editor"), b"\x00\x01\x02binary\n\xff\xfe\n")
    assert response.status_code == 400
    html = response.content.decode()
    assert "EGRESS-DISC32" in html and "sleep-a.log:1" in html and "sleep-a.log:2" in html and "EGRESS-LOG01" in html
    assert not ObservedFlow.objects.exists() and not ObservationUpload.objects.exists()


@override_settings(EGRESS_DISCOVERY_MAX_UPLOAD_BYTES=500)
def test_an_oversize_upload_gets_the_page_with_a_413(seed_gateway_record) -> None:
    response = upload(signed_in("editor"), sample_log())
    assert response.status_code == 413
    assert "EGRESS-DISC31" in response.content.decode()
    assert not ObservedFlow.objects.exists()


def test_a_viewer_cannot_upload(seed_gateway_record) -> None:
    response = upload(signed_in("viewer"), sample_log())
    assert response.status_code == 403
    assert not ObservedFlow.objects.exists()


def test_filters_narrow_the_flows(seed_gateway_record) -> None:
    ingest_sample(seed_gateway_record, user_in_role("admin"))
    html = signed_in("viewer").get(f"{PAGE}?gateway=egressgateway&host=httpbin").content.decode()
    assert html.count('name="flow"') == 2
    blocked = signed_in("viewer").get(f"{PAGE}?gateway=egressgateway&reached=no").content.decode()
    assert blocked.count('name="flow"') == 1 and "blocked.example.org" in blocked


def test_propose_shows_the_diff_and_save_opens_the_editor(seed_policy_record) -> None:
    ingest_sample(seed_policy_record.gateway, user_in_role("admin"))
    client = signed_in("editor")
    ids = [str(pk) for pk in ObservedFlow.objects.values_list("pk", flat=True)]
    page = client.post(f"{PAGE}propose/", {"gateway": "egressgateway", "flow": ids, "https_upgrade": "1"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="proposal-diff"' in html and 'data-testid="save-draft"' in html
    assert 'name="draft_version" value="1"' in html
    saved = client.post(
        f"{PAGE}propose/",
        {"gateway": "egressgateway", "flow": ids, "save": "1", "draft_version": "1", "https_upgrade": "1"},
    )
    assert saved.status_code == 302 and saved["Location"] == f"/policies/{seed_policy_record.name}/"
    assert PolicyDraft.objects.get(policy=seed_policy_record).version == 2
    stale = client.post(f"{PAGE}propose/", {"gateway": "egressgateway", "flow": ids, "save": "1", "draft_version": "1"})
    assert stale.status_code == 412


def test_replay_shows_broken_and_newly_allowed_flows(seed_policy_record) -> None:
    ingest_sample(seed_policy_record.gateway, user_in_role("admin"))
    html = signed_in("viewer").get(f"{PAGE}?gateway=egressgateway&replay=draft").content.decode()
    assert 'data-testid="replay-broken"' in html and "https://api.example.com/" in html
    revision = signed_in("viewer").get(f"{PAGE}?gateway=egressgateway&replay=revision:9")
    assert revision.status_code == 400


def test_a_long_replay_draws_its_first_rows_and_says_where_the_rest_are(seed_policy_record, monkeypatch) -> None:
    # Given: observations of which the draft would block more flows than the page draws
    more = [text_line(tls(f"api-{n}.example.net", "34.4.4.4")) for n in range(3)]
    ingest_sample(seed_policy_record.gateway, user_in_role("admin"), sample_log(more))
    monkeypatch.setattr(discover_views, "REPLAY_ROWS_SHOWN", 2)

    # When
    html = signed_in("viewer").get(f"{PAGE}?gateway=egressgateway&replay=draft").content.decode()

    # Then: one row, the whole count, and where every row can be had
    broken_table = html.split('data-testid="replay-broken"')[1].split("</table>")[0]
    assert broken_table.count("<tr>") == 3  # NB: the header row and two flows.
    broken = int(re.search(r'data-testid="replay-broken-count">(\d+) would be blocked', html).group(1))
    more = html.split('data-testid="replay-broken-more">')[1].split("</p>")[0]
    assert broken > 2 and f"The first 2 of {broken} flows." in more and "egress replay --json" in more


def test_only_admins_see_and_use_delete(seed_gateway_record) -> None:
    ingest_sample(seed_gateway_record, user_in_role("admin", "uploader"))
    assert 'data-testid="delete-observations"' not in signed_in("editor").get(PAGE).content.decode()
    assert signed_in("editor").post(f"{PAGE}delete/", {"gateway": "egressgateway"}).status_code == 403
    admin = signed_in("admin")
    assert 'data-testid="delete-observations"' in admin.get(PAGE).content.decode()
    assert admin.post(f"{PAGE}delete/", {"gateway": "egressgateway"}).status_code == 302
    assert not ObservedFlow.objects.exists()


def test_a_user_without_a_role_cannot_see_the_page(seed_gateway_record) -> None:
    assert signed_in("nobody").get(PAGE).status_code == 403


def test_the_review_replay_panel_shows_what_the_reviews_revision_would_block(open_review, monkeypatch) -> None:
    from django.template.loader import render_to_string

    from policies.views import discover

    reader = user_in_role("viewer", "review-reader")
    assert discover.review_replay(open_review, user_in_role("nobody", "no-role")) is None
    assert discover.review_replay(open_review, reader) is None
    assert 'data-testid="review-replay"' not in render_to_string(
        "policies/includes/review_replay.html", {"review": open_review, "replay": None}
    )
    ingest_sample(open_review.policy.gateway, user_in_role("admin", "uploader"))
    replay = discover.review_replay(open_review, reader)
    assert replay is not None and replay["against"]["review"] == open_review.pk
    html = render_to_string("policies/includes/review_replay.html", {"review": open_review, "replay": replay})
    assert 'data-testid="replay-broken"' in html and "https://api.example.com/" in html
    monkeypatch.setattr(discover, "REVIEW_REPLAY_LIMIT", 3)
    context = {"review": open_review, "replay": discover.review_replay(open_review, reader)}
    too_many = render_to_string("policies/includes/review_replay.html", context)
    assert "4 observed flows: too many to replay on this page" in too_many


def test_an_upload_without_the_csrf_token_is_refused(seed_gateway_record) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_in_role("editor", "csrf-editor"))
    response = upload(client, sample_log())
    assert response.status_code == 403
    assert not ObservedFlow.objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_paste_over_the_form_limit_gets_a_413_page_asking_for_a_file(seed_gateway_record) -> None:
    client = signed_in("editor")
    response = client.post(f"{PAGE}upload/", {"gateway": "egressgateway", "namespace": "shop", "text": "x" * 5000})
    assert response.status_code == 413
    assert "upload the logs as a file" in response.content.decode()
    assert not ObservationUpload.objects.exists()


def test_the_review_replay_fragment(open_review) -> None:
    url = f"/reviews/{open_review.pk}/replay/"
    assert signed_in("approver").get(url).status_code == 204
    ingest_sample(open_review.policy.gateway, user_in_role("admin", "uploader"))
    fragment = signed_in("approver").get(url)
    assert fragment.status_code == 200
    assert 'data-testid="review-replay"' in fragment.content.decode()
    assert signed_in("nobody").get(url).status_code == 403
    assert signed_in("approver").get("/reviews/999999/replay/").status_code == 404


@pytest.mark.parametrize("field", ["namespace", "host", "outcome"])
def test_a_filter_with_a_nul_is_refused_with_its_field_not_asked_of_the_database(seed_gateway_record, field) -> None:
    # NB: PostgreSQL's text cannot hold a NUL: asking it such a filter was a 500 there (SQLite matched nothing)
    ingest_sample(seed_gateway_record, user_in_role("editor", "nul-filter"))
    page = signed_in("viewer").get(PAGE, {"gateway": "egressgateway", field: "a\x00b"})
    assert page.status_code == 400
    html = page.content.decode()
    assert "null_characters_not_allowed" in html and "A filter cannot contain a NUL character." in html
    assert 'name="flow"' not in html


@pytest.mark.parametrize("query", [{"gateway": "egress\x00gateway"}, {"gateway": "\x00"}])
def test_a_gateway_named_with_a_nul_is_404(seed_gateway_record, query) -> None:
    assert signed_in("viewer").get(PAGE, query).status_code == 404


def test_a_replay_target_with_a_nul_is_refused_with_its_reason(seed_gateway_record) -> None:
    ingest_sample(seed_gateway_record, user_in_role("editor", "nul-replay"))
    page = signed_in("viewer").get(PAGE, {"gateway": "egressgateway", "replay": "revision:\x001"})
    assert page.status_code == 400
    assert 'role="alert"' in page.content.decode()
