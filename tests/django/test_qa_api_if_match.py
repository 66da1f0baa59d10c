"""QA regression: If-Match with the current version as a weak or unquoted tag was called "stale".

RFC 9110 compares If-Match strongly, so ``W/"1"`` and ``1`` never match and 412 is right, but the
message told the client its copy was out of date when it was not. The 412 now says what is
wrong with the header.
"""

from __future__ import annotations

import pytest

from tests.fixtures.api import errors_of, send

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ('W/"1"', 'If-Match W/"1" is a weak entity tag, which never matches; send the ETag as returned: "1".'),
        ("1", 'If-Match 1 is not a quoted entity tag; send the ETag as returned: "1".'),
        (
            '"0"',
            'The draft is now at version 1; If-Match "0" is stale. GET it again and reapply your change.',
        ),
    ],
)
def test_an_if_match_that_does_not_match_says_why(api_client, api_objects, header, message):
    # given the policy at draft version 1
    url = f"/api/v1/policies/{api_objects['policy']}/"
    # when it is patched with a non-matching If-Match
    response = send(api_client, "patch", url, {}, HTTP_IF_MATCH=header)
    # then 412 explains the header's problem
    assert response.status_code == 412
    assert [(e["code"], e["path"], e["message"]) for e in errors_of(response)] == [
        ("precondition_failed", "If-Match", message)
    ]
