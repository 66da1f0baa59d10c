"""The cluster registration form: where the console reaches a cluster, checked like the API checks it."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from policies import clusters
from policies.models import Cluster
from policies.services import ServiceError


class ClusterForm(forms.ModelForm):
    """Name, kubeconfig path + context or the in-cluster service account, and a description.

    The location is validated by the service (``clusters.validate_location``), so the console refuses
    exactly what the API refuses, with the same codes. The name cannot change once registered.
    """

    class Meta:
        model = Cluster
        fields = ["name", "in_cluster", "kubeconfig_path", "context", "description"]
        help_texts = {
            "kubeconfig_path": _("Absolute path of a kubeconfig file on the console's host; only the path is stored."),
            "context": _("A context of that kubeconfig; empty means its current context."),
        }
        widgets = {
            "kubeconfig_path": forms.TextInput(attrs={"placeholder": "/etc/egress/kubeconfig", "spellcheck": "false"}),
            "context": forms.TextInput(attrs={"spellcheck": "false"}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["name"].disabled = True

    def clean(self):
        cleaned = super().clean() or self.cleaned_data  # NB: ModelForm.clean returns cleaned_data; the stubs allow None
        if any(name in self.errors for name in ("in_cluster", "kubeconfig_path", "context")):
            return cleaned  # NB: a location field already refused says why; checking without it would add a false error
        try:
            clusters.validate_location(
                in_cluster=bool(cleaned.get("in_cluster")),
                kubeconfig_path=cleaned.get("kubeconfig_path") or "",
                context=cleaned.get("context") or "",
            )
        except ServiceError as exc:
            self.add_error(
                exc.path if exc.path in self.fields else None, forms.ValidationError(exc.message, code=exc.code)
            )
        return cleaned
