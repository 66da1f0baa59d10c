"""Translatable message ids for a core that must not import Django.

Core modules mark user-facing strings with ``_`` from here. It returns the English text
unchanged, but the name ``_`` is a default xgettext keyword, so ``manage.py makemessages``
extracts every marked string into the project's catalogs. The web layer renders a finding by
passing Django's ``gettext`` to ``Finding.render``; the CLI renders English.
"""

from collections.abc import Callable

Translate = Callable[[str], str]


def _(message: str) -> str:
    """Mark ``message`` for translation; identity at run time."""
    return message


def english(message: str) -> str:
    """The translator used where no locale applies (CLI, logs)."""
    return message
