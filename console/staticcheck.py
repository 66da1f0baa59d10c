"""Refuse to start with DEBUG off when the collected static files do not match the sources.

With DEBUG off, pages link static files through the manifest that ``collectstatic`` writes
(``STATIC_ROOT/staticfiles.json``, hashed names for caching). Without it, or with a file that
was added since, every template's ``{% static %}`` raised and every HTML page was a 500; the
server now refuses to start instead, and says which command fixes it.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.exceptions import ImproperlyConfigured

IGNORED_PATTERNS = ["CVS", ".*", "*~"]  # NB: collectstatic's defaults


def require_collected_static() -> None:
    """Raise ``ImproperlyConfigured`` unless every static file has an entry in the manifest."""
    if not isinstance(staticfiles_storage, ManifestFilesMixin):
        return
    manifest = settings.STATIC_ROOT / staticfiles_storage.manifest_name
    if staticfiles_storage.read_manifest() is None:
        raise ImproperlyConfigured(
            f"DEBUG is off but {manifest} is missing: run `python manage.py collectstatic --noinput` "
            "before starting the server (see README, 'Running in production')."
        )
    sources = {path for finder in get_finders() for path, _storage in finder.list(IGNORED_PATTERNS)}
    if missing := sorted(sources - set(staticfiles_storage.hashed_files)):
        raise ImproperlyConfigured(
            f"DEBUG is off but {manifest} is out of date ({len(missing)} files not collected, e.g. {missing[0]}): "
            "run `python manage.py collectstatic --noinput` again before starting the server."
        )
