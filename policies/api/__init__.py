"""The REST API (``/api/v1/``): the console's verbs for automation, with an OpenAPI contract."""
