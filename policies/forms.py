"""Console forms. Policy content is validated by the core, never here: these only collect input."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from policies.core.yamlio import MAX_INPUT_BYTES


class PolicyImportForm(forms.Form):
    """YAML or JSON of one ASMEgressTrafficPolicy, pasted or uploaded."""

    text = forms.CharField(
        label=_("Paste YAML"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "class": "code-input"}),
    )
    file = forms.FileField(
        label=_("Or upload a file"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".yaml,.yml,.json"}),
    )

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is not None and upload.size > MAX_INPUT_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)d bytes; the limit is %(limit)d bytes."),
                code="too_large",
                params={"size": upload.size, "limit": MAX_INPUT_BYTES},
            )
        return upload

    def clean(self):
        cleaned = super().clean() or self.cleaned_data  # NB: Form.clean returns cleaned_data; the stubs allow None
        if not cleaned.get("file") and not (cleaned.get("text") or "").strip():
            raise forms.ValidationError(_("Paste a policy or choose a file to upload."), code="empty")
        return cleaned

    def policy_bytes(self) -> bytes | str:
        """The uploaded file's bytes, else the pasted text."""
        upload = self.cleaned_data.get("file")
        return upload.read() if upload is not None else self.cleaned_data["text"]
