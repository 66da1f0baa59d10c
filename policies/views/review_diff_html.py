"""The review page's long tables as HTML (side-by-side diffs, the plan), written here rather than by a template loop.

A 50-target policy's review shows some 2,000 diff rows and a plan of 170 objects; Django's template
engine spends most of the page's time on them, while joining escaped strings takes a few
milliseconds. The markup is the one the stylesheet (``review.css``) and the browser tests read:
``diff-table`` with a ``diff-KIND`` row per line and a ``diff-fold`` row per folded unchanged run;
``plan-row`` rows with ``data-action``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, ngettext, pgettext_lazy
from django.utils.translation import gettext as _

from policies.core.line_diff import LineDiff, Row
from policies.review_comparison import CACHE_SECONDS, ObjectDiff
from policies.review_report import ReviewReport

HTML_VERSION = 1  # NB: bump with the markup, so no replica serves tables of an older page
COLUMNS = (
    '<colgroup><col class="diff-no"><col class="diff-text"><col class="diff-no"><col class="diff-text"></colgroup>'
)


@dataclass(frozen=True)
class ShownObject:
    """One Istio object's diff as the page shows it: its identity, status, line counts and table (no rows kept)."""

    kind: str
    namespace: str
    name: str
    status: str
    added: int
    removed: int
    table: SafeString

    @classmethod
    def of(cls, item: ObjectDiff) -> ShownObject:
        """The object's diff, rendered."""
        table = diff_table(item.diff, f"{item.kind}/{item.namespace}/{item.name}")
        return cls(item.kind, item.namespace, item.name, item.status, item.diff.added, item.diff.removed, table)


@dataclass(frozen=True)
class ShownDiffs:
    """The diffs as the page shows them: the CR's table and line counts, each object's, the objects' counts."""

    cr_table: SafeString
    cr_added: int
    cr_removed: int
    object_counts: dict[str, int]
    objects: list[ShownObject]


def shown_diffs(report: ReviewReport) -> ShownDiffs:
    """The rendered diffs, cached per comparison and language (the page then never loads the diff rows)."""
    key = f"{report.inputs.key}:html:{HTML_VERSION}:{get_language()}"
    shown = cache.get(key)
    if shown is None:
        diffs = report.diffs
        objects = [ShownObject.of(item) for item in diffs.objects]
        cr = diffs.cr
        shown = ShownDiffs(diff_table(cr, "cr"), cr.added, cr.removed, diffs.object_counts(), objects)
        cache.set(key, shown, timeout=getattr(settings, "EGRESS_REPORT_CACHE_SECONDS", CACHE_SECONDS))
    return cast(ShownDiffs, shown)


def diff_table(diff: LineDiff, object_id: str) -> SafeString:
    """One ``<table>`` of side-by-side rows (``data-testid="diff-pane"``, ``data-object`` naming what it shows)."""
    rows = "".join(_row(row) for row in diff.rows) or _fold_row(_("(empty)"))
    head = f'<table class="diff-table" data-testid="diff-pane" data-object="{escape(object_id)}">{COLUMNS}<tbody>'
    return mark_safe(head + rows + "</tbody></table>")  # noqa: S308 - every text in it went through escape()


def _row(row: Row) -> str:
    if row.kind == "fold":
        message = ngettext("⋯ %(count)d unchanged line", "⋯ %(count)d unchanged lines", row.folded)
        return _fold_row(message % {"count": row.folded})
    old_number, old_text = (row.old.number, escape(row.old.text)) if row.old else ("", "")
    new_number, new_text = (row.new.number, escape(row.new.text)) if row.new else ("", "")
    return (
        f'<tr class="diff-{row.kind}"><td class="diff-no">{old_number}</td><td class="diff-old">{old_text}</td>'
        f'<td class="diff-no">{new_number}</td><td class="diff-new">{new_text}</td></tr>'
    )


def _fold_row(text: str) -> str:
    return f'<tr class="diff-fold"><td colspan="4">{escape(text)}</td></tr>'


NOTHING = '<span class="muted">—</span>'
ACTION_TAGS = {"create": "tag-success", "change": "tag-warning", "prune": "tag-error", "failed": "tag-error"}
ACTION_LABELS = {  # NB: a context of their own: "change" or "create" alone translate differently elsewhere
    "create": pgettext_lazy("plan action", "create"),
    "change": pgettext_lazy("plan action", "change"),
    "prune": pgettext_lazy("plan action", "prune"),
    "unchanged": pgettext_lazy("plan action", "unchanged"),
    "failed": pgettext_lazy("plan action", "failed"),
}


def plan_rows_html(rows: list[dict[str, Any]]) -> SafeString:
    """The plan table's body rows (``data-testid="plan-row"``, ``data-action``), one per object."""
    return mark_safe("".join(_plan_row(row) for row in rows))  # noqa: S308 - every text in it went through escape()


def _plan_row(row: dict[str, Any]) -> str:
    action = escape(row["action"])
    label = ACTION_LABELS.get(row["action"], row["action"])
    error = row.get("error")
    detail = f'<span class="mono">{escape(error["code"])}</span> {escape(error["message"])}' if error else ""
    detail += "".join(_field_change(change) for change in row["changes"])
    return (
        f'<tr data-testid="plan-row" data-action="{action}">'
        f'<td><span class="tag {ACTION_TAGS.get(row["action"], "tag-muted")}">{escape(str(label))}</span></td>'
        f'<td><span class="tag tag-kind">{escape(row["kind"])}</span></td>'
        f'<td class="mono plan-object">{escape(row["namespace"])}/{escape(row["name"])}</td>'
        f"<td>{detail or NOTHING}</td></tr>"
    )


def _field_change(change: dict[str, Any]) -> str:
    values = f'<code class="minus">{escape(change["old"])}</code> → <code class="plus">{escape(change["new"])}</code>'
    values = f'<div class="field-values">{values}</div>'
    if change["long"]:
        summary = _("show the values")  # NB: outside the f-string, where makemessages (xgettext) cannot see it
        values = f'<details><summary class="muted small">{escape(summary)}</summary>{values}</details>'
    path = f'<span class="mono strong">{escape(change["path"])}</span>'
    return f'<div class="field-change" data-testid="plan-change">{path}{values}</div>'
