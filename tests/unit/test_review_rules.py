"""The review workflow's rule table, without Django: transitions, roles, separation of duties, approvals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.core.review import (
    ROLE_PERMISSIONS,
    TRANSITIONS,
    Actor,
    ReviewAction,
    ReviewFacts,
    ReviewState,
    Role,
    TransitionRefused,
    allowed_actions,
    decide,
)

AUTHOR, EDITOR, APPROVER, OTHER_APPROVER = 1, 2, 3, 4
S = ReviewState
A = ReviewAction


def actor(user_id: int, role: Role) -> Actor:
    return Actor(user_id, frozenset(ROLE_PERMISSIONS[role]))


def facts(state: ReviewState | None = S.IN_REVIEW, approvers: frozenset[int] = frozenset()) -> ReviewFacts:
    return ReviewFacts(state, AUTHOR, frozenset({AUTHOR, EDITOR}), approvers)


@pytest.mark.parametrize(
    ("state", "action", "target"),
    [
        (None, A.SUBMIT, S.IN_REVIEW),
        (S.IN_REVIEW, A.APPROVE, S.APPROVED),
        (S.IN_REVIEW, A.REJECT, S.REJECTED),
        (S.IN_REVIEW, A.WITHDRAW, S.WITHDRAWN),
        (S.APPROVED, A.WITHDRAW, S.WITHDRAWN),
        (S.IN_REVIEW, A.SUPERSEDE, S.SUPERSEDED),
        (S.APPROVED, A.SUPERSEDE, S.SUPERSEDED),
        (S.FAILED, A.SUPERSEDE, S.SUPERSEDED),
        (S.APPROVED, A.APPLY, S.APPLIED),
        (S.APPROVED, A.FAIL, S.FAILED),
        (S.FAILED, A.APPLY, S.APPLIED),
        (S.APPLIED, A.APPLY, S.APPLIED),
    ],
)
def test_admin_who_did_not_author_takes_every_listed_transition(state, action, target):
    admin = actor(99, Role.ADMIN)
    assert decide(action, facts(state), admin) is target


def test_every_state_except_the_listed_refuses_each_action_with_409():
    listed = {(t.source, t.action) for t in TRANSITIONS}
    superuser = Actor(99, frozenset(), superuser=True)
    for state in [None, *S]:
        for action in A:
            if (state, action) in listed:
                continue
            with pytest.raises(TransitionRefused) as refused:
                decide(action, facts(state), superuser)
            assert (refused.value.code, refused.value.status) == ("INVALID_TRANSITION", 409)


@pytest.mark.parametrize("state", [S.SUPERSEDED, S.WITHDRAWN, S.REJECTED, S.APPLIED])
def test_approving_a_closed_review_is_a_conflict(state):
    with pytest.raises(TransitionRefused) as refused:
        decide(A.APPROVE, facts(state), actor(APPROVER, Role.APPROVER))
    assert refused.value.code == "INVALID_TRANSITION"
    assert refused.value.status == 409


@pytest.mark.parametrize("user", [AUTHOR, EDITOR])
@pytest.mark.parametrize("role", [Role.APPROVER, Role.ADMIN])
def test_nobody_approves_a_revision_they_authored_or_edited(user, role):
    with pytest.raises(TransitionRefused) as refused:
        decide(A.APPROVE, facts(), actor(user, role))
    assert (refused.value.code, refused.value.status) == ("SELF_APPROVAL", 403)


def test_a_superuser_is_held_to_separation_of_duties_too():
    with pytest.raises(TransitionRefused) as refused:
        decide(A.APPROVE, facts(), Actor(AUTHOR, frozenset(), superuser=True))
    assert refused.value.code == "SELF_APPROVAL"


def test_approvals_short_of_the_required_count_keep_the_review_open():
    approver = actor(APPROVER, Role.APPROVER)
    assert decide(A.APPROVE, facts(), approver, required_approvals=2) is S.IN_REVIEW
    second = actor(OTHER_APPROVER, Role.APPROVER)
    assert decide(A.APPROVE, facts(approvers=frozenset({APPROVER})), second, required_approvals=2) is S.APPROVED


def test_the_same_approver_does_not_count_twice():
    with pytest.raises(TransitionRefused) as refused:
        decide(A.APPROVE, facts(approvers=frozenset({APPROVER})), actor(APPROVER, Role.APPROVER), required_approvals=2)
    assert (refused.value.code, refused.value.status) == ("ALREADY_APPROVED", 409)


def test_only_the_submitter_or_an_admin_withdraws():
    assert decide(A.WITHDRAW, facts(), actor(AUTHOR, Role.EDITOR)) is S.WITHDRAWN
    assert decide(A.WITHDRAW, facts(), actor(99, Role.ADMIN)) is S.WITHDRAWN
    with pytest.raises(TransitionRefused) as refused:
        decide(A.WITHDRAW, facts(), actor(EDITOR, Role.EDITOR))
    assert (refused.value.code, refused.value.status) == ("NOT_SUBMITTER", 403)


EXPECTED_ROLE_ACTIONS = {
    # what a non-author holding each role may do to an in-review / approved review, or submit anew
    Role.VIEWER: (set(), set(), set()),
    Role.EDITOR: ({A.SUBMIT}, {A.SUPERSEDE}, {A.SUPERSEDE}),
    Role.APPROVER: (set(), {A.APPROVE, A.REJECT}, set()),
    Role.OPERATOR: (set(), set(), {A.APPLY, A.FAIL}),
    Role.ADMIN: ({A.SUBMIT}, {A.APPROVE, A.REJECT, A.WITHDRAW, A.SUPERSEDE}, set(A) - {A.SUBMIT, A.APPROVE, A.REJECT}),
}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_may_take_exactly_its_actions(role):
    someone = actor(50, role)
    new, in_review, approved = EXPECTED_ROLE_ACTIONS[role]
    assert set(allowed_actions(facts(None), someone)) == new
    assert set(allowed_actions(facts(S.IN_REVIEW), someone)) == in_review
    assert set(allowed_actions(facts(S.APPROVED), someone)) == approved


@pytest.mark.parametrize("role", [r for r in Role if "policies.approve_review" not in ROLE_PERMISSIONS[r]])
def test_without_the_permission_the_refusal_is_403(role):
    with pytest.raises(TransitionRefused) as refused:
        decide(A.APPROVE, facts(), actor(50, role))
    assert (refused.value.code, refused.value.status) == ("permission_denied", 403)


USERS = st.integers(min_value=1, max_value=6)
STEPS = st.lists(st.tuples(st.sampled_from(list(A)), USERS, st.sampled_from(list(Role))), max_size=25)


@given(steps=STEPS, required=st.integers(min_value=1, max_value=3))
def test_no_sequence_of_steps_approves_without_enough_outside_approvers(steps, required):
    # given a review submitted by user 1 and edited by user 2
    state, approvers = S.IN_REVIEW, set()
    for action, user, role in steps:
        facts = ReviewFacts(state, AUTHOR, frozenset({AUTHOR, EDITOR}), frozenset(approvers))
        try:
            new = decide(action, facts, actor(user, role), required_approvals=required)
        except TransitionRefused:
            continue
        if action is A.APPROVE:
            approvers.add(user)
        # then an approval only ever comes from someone outside the change, and enough of them
        if new is S.APPROVED and state is not S.APPROVED:
            assert not approvers & {AUTHOR, EDITOR}
            assert len(approvers) >= required
        state = new
