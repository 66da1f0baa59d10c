"""Settings for ``bench/api.py`` only: the product's settings plus a URLconf with a floor view."""

from console.settings import *  # noqa: F403

ROOT_URLCONF = "bench.api_urls"
