from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoliciesConfig(AppConfig):
    """Egress gateways, their policies, drafts and revisions."""

    name = "policies"
    verbose_name = _("Egress policies")
    default_auto_field = "django.db.models.BigAutoField"
