"""The console's 403 and 404 pages: the console's look and the reason, not Django's bare defaults."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from tests.fixtures.reviews import user_in_role

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


def signed_in(role: str) -> Client:
    client = Client()
    client.force_login(user_in_role(role, f"{role}-error-pages"))
    return client


@override_settings(DEBUG=False)
def test_a_missing_object_says_which_in_the_consoles_error_page() -> None:
    response = signed_in("viewer").get("/reviews/999999/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "No review #999999." in html and "error-page.css" in html and "Back to the Egress Console" in html


@override_settings(DEBUG=False)
def test_an_unknown_address_is_a_404_page_without_internal_names() -> None:
    response = signed_in("viewer").get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "There is no page at this address." in html and "Resolver404" not in html


@override_settings(DEBUG=False)
def test_a_refused_role_is_told_why_in_the_consoles_error_page() -> None:
    response = signed_in("viewer").get("/clusters/new/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "Your role does not allow this" in html and "Your role may not do this to clusters." in html
