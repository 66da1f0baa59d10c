"""The audit page: the append-only trail, newest first, filtered, with JSON Lines and CSV export links; each entry's
manifests (what an apply sent) fold out under it as YAML.

The export links point at the API's own export (``/api/v1/audit/?format=jsonl|csv``) with the same
filters, so the page and a script download exactly the same entries.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from policies.core.yamlio import dump_yaml, dump_yaml_all
from policies.models import AuditEntry, EgressPolicy

PAGE_SIZE = 50


class AuditFilterForm(forms.Form):
    """The audit page's filters, named as the API's query parameters."""

    # NB: a plain field over a select: the URL may name the policy (``?policy=payments``) or give its id, as the API's.
    policy = forms.CharField(label=gettext_lazy("Policy"), required=False, max_length=253)
    actor = forms.CharField(label=gettext_lazy("Actor"), required=False, max_length=150)
    action = forms.CharField(label=gettext_lazy("Action"), required=False, max_length=40)
    since = forms.DateTimeField(
        label=gettext_lazy("Since"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.policy_ids = dict(EgressPolicy.objects.order_by("name").values_list("name", "pk"))
        names = [(name, name) for name in self.policy_ids]
        self.fields["policy"].widget = forms.Select(choices=[("", _("All policies")), *names])
        if self.is_bound:  # NB: shown selected by name even when the URL gave the id
            self.data = {**dict(self.data.items()), "policy": self._policy_name(self.data.get("policy") or "")}

    def _policy_name(self, given: str) -> str:
        if given in self.policy_ids:  # NB: a name first: "5" may be a policy's name as well as another's id
            return given
        by_id = {str(pk): name for name, pk in self.policy_ids.items()}
        return by_id.get(given, given)

    def clean_policy(self) -> int | None:
        """The policy's id, from its name or its id."""
        name = self.cleaned_data["policy"]
        if not name:
            return None
        if name not in self.policy_ids:
            raise forms.ValidationError(_("There is no policy %(name)s.") % {"name": name}, code="invalid_choice")
        return self.policy_ids[name]

    def filtered(self, entries: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        """The entries matching the filters; none while a filter is invalid (the form then shows why)."""
        if not self.is_valid():
            return entries.none()
        data = self.cleaned_data
        lookups = {"policy": "policy_id", "actor": "actor", "action": "action", "since": "created_at__gte"}
        return entries.filter(**{lookup: data[name] for name, lookup in lookups.items() if data.get(name)})

    def api_query(self) -> dict[str, str]:
        """The valid filters as the API's query parameters (``since`` in ISO 8601)."""
        if not self.is_valid():
            return {}
        data = {name: value for name, value in self.cleaned_data.items() if value}
        if "since" in data:
            data["since"] = data["since"].isoformat()
        return {name: str(value) for name, value in data.items()}


def audit_list(request):
    """The audit log with filters (policy, actor, action, since) and export links."""
    if not request.user.has_perm("policies.view_auditentry"):
        raise PermissionDenied(_("Your role may not read the audit log."))
    form = AuditFilterForm(request.GET)  # NB: bound even when empty: an unbound form is never valid, and shows nothing
    entries = form.filtered(AuditEntry.objects.all())
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = form.api_query()
    api = reverse("api:audit-list")
    context = {
        "form": form,
        "page": page,
        "rows": [
            (entry, entry.policy_name.partition("/"), manifests_yaml(entry.manifests)) for entry in page.object_list
        ],
        "query": urlencode(query),
        "export_jsonl": f"{api}?{urlencode({**query, 'format': 'jsonl'})}",
        "export_csv": f"{api}?{urlencode({**query, 'format': 'csv'})}",
        "actions": AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct(),
    }
    return render(request, "policies/audit_list.html", context)


def manifests_yaml(manifests: Any) -> str:
    """The manifests an entry recorded, as the YAML stream they were applied as ("" when none).

    NB: they come with the entry's own row (a column of it), so showing them costs the page no query.
    """
    if not manifests:
        return ""
    return dump_yaml_all(manifests) if isinstance(manifests, list) else dump_yaml(manifests)
