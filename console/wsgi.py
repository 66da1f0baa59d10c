"""WSGI entry point (gunicorn console.wsgi): refuses to start without collected static files."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
application = get_wsgi_application()

from console.staticcheck import require_collected_static  # noqa: E402  NB: needs the settings configured above

require_collected_static()
