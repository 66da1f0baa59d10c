"""Messages the editor script shows, translated on the server and embedded in the page.

The script has no catalog of its own: it reads these strings from the page's JSON
configuration, so a single gettext catalog serves templates, Python and JavaScript.
"""

from __future__ import annotations

from django.utils.translation import gettext as _


def editor_strings() -> dict[str, str]:
    """Every string the editor script may show, in the request's language."""
    return {
        "valid": _("Valid"),
        "errors": _("{n} error(s)"),
        "warnings": _("{n} warning(s)"),
        "unsaved": _("Unsaved changes"),
        "saved": _("All changes saved"),
        "saving": _("Saving…"),
        "line": _("Line {n}"),
        "document": _("Document"),
        "copied": _("Copied"),
        "copy": _("Copy"),
        "download": _("Download"),
        "noObjects": _("Fix the errors above to see the Istio objects this policy becomes."),
        "yamlUnreadable": _(
            "The YAML cannot be read as a policy, so the form cannot show it. Fix it in the YAML tab; "
            "nothing you typed is lost."
        ),
        "notGatewayPort": _("{port} (not a port of this gateway)"),
        "samePort": _("Default: same as target port"),
        "requestFailed": _("The request failed ({status}). Your changes are still on this page."),
        "staleHint": _("Your edits are still on this page: download them, then reload to see the other change."),
        "downloadMine": _("Download my version"),
        "reload": _("Reload"),
        "leave": _("Leave this page? Your changes are not saved."),
        "needsValid": _("The policy has errors; fix them first."),
        "running": _("Running…"),
        "reset": _("connection reset"),
        "noSources": _("Add a source and a destination to see who can reach what."),
        "hopsUnknown": _("Complete the target to see its path."),
        "problems": _("Problems"),
        "upstream": _("Upstream"),
        "body": _("Response body"),
        "source": _("Source"),
        "noProblems": _("No problems found."),
    }
