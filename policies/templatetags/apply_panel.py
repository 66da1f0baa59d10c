"""``{% apply_panel_state review as panel %}``: what the apply panel may offer the signed-in user for a review.

The panel is included by pages that only hand it the review; it asks for its own state here, so every
page that includes it shows the same choices and the same explanation of a refusal.
"""

from __future__ import annotations

from typing import Any

from django import template

from policies.models import Cluster
from policies.views.apply import ApplyPanelState
from policies.views.apply import apply_panel_state as panel_state

register = template.Library()


@register.simple_tag(takes_context=True)
def apply_panel_state(context: Any, review: Any) -> ApplyPanelState:
    """The panel's state for ``review`` and the request's user (hidden when there is no review or no request)."""
    request = context.get("request")
    if review is None or request is None:
        return ApplyPanelState(visible=False)
    clusters = context.get("clusters")  # NB: the review page has read them already: no second query
    names = (
        [c.name for c in clusters]
        if isinstance(clusters, list) and all(isinstance(c, Cluster) for c in clusters)
        else None
    )
    return panel_state(review, request.user, names)
