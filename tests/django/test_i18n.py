"""zh-hans and English: a complete catalog, the browser's language by default, a switch anywhere."""

from __future__ import annotations

import ast
import gettext
import re
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import translation

from policies.views.strings import editor_strings

LOCALE = Path(settings.BASE_DIR, "locale", "zh_Hans", "LC_MESSAGES")
PO, MO = LOCALE / "django.po", LOCALE / "django.mo"
# Console modules whose user-facing strings must all be in the catalog.
CONSOLE_SOURCES = [
    "policies/views",
    "policies/presenters.py",
    "policies/previews.py",
    "policies/simulation.py",
    "policies/forms.py",
    "policies/exports.py",
]
TEMPLATE_LITERAL = re.compile(r"""\{% (?:translate|trans) "([^"]+)"|\{% (?:translate|trans) '([^']+)'""")
PYTHON_LITERAL = re.compile(r"""\b_\(\s*"((?:[^"\\]|\\.)+)"\s*[,)]""")
SAME_IN_BOTH = {"YAML", "URL", "mTLS", "TCP"}


@pytest.fixture(scope="module")
def catalog() -> dict[str, str]:
    """The compiled zh-hans catalog (compiled here when the .mo is missing or stale)."""
    if not MO.exists() or MO.stat().st_mtime < PO.stat().st_mtime:
        call_command("compilemessages", locale=["zh_Hans"], verbosity=0)
    with MO.open("rb") as handle:
        return gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]


def test_catalog_has_no_untranslated_or_fuzzy_entries():
    # when
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(PO)], capture_output=True, text=True
    )
    # then
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"\d+ translated messages\.\n", result.stderr), result.stderr


def test_every_template_string_is_in_the_catalog(catalog):
    # given
    literals = {
        a or b
        for path in Path(settings.BASE_DIR, "templates").rglob("*.html")
        for a, b in TEMPLATE_LITERAL.findall(path.read_text())
    }
    # then
    assert len(literals) > 100
    assert sorted(literals - set(catalog)) == []


def test_every_console_python_string_is_in_the_catalog(catalog):
    # given
    files = [p for src in CONSOLE_SOURCES for p in sorted(Path(settings.BASE_DIR, src).glob("**/*.py"))] + [
        Path(settings.BASE_DIR, src) for src in CONSOLE_SOURCES if src.endswith(".py")
    ]
    literals = {ast.literal_eval(f'"{m}"') for f in files for m in PYTHON_LITERAL.findall(f.read_text())}
    # then
    assert len(literals) > 40
    assert sorted(literals - set(catalog)) == []


def test_editor_script_strings_are_translated(catalog):
    # when
    with translation.override("en"):
        english = editor_strings()
    with translation.override("zh-hans"):
        chinese = editor_strings()
    # then
    untranslated = [key for key, text in english.items() if chinese[key] == text and text not in SAME_IN_BOTH]
    assert untranslated == []
    assert chinese["errors"] == "{n} 个错误"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept_language", "lang", "heading"),
    [
        ("zh-CN,zh;q=0.9", "zh-hans", "出口网关"),
        ("zh-Hans", "zh-hans", "出口网关"),
        ("en-US,en", "en", "Egress gateways"),
    ],
)
def test_pages_follow_the_browser_language(admin_client, catalog, accept_language, lang, heading):
    # when
    html = admin_client.get("/gateways/", HTTP_ACCEPT_LANGUAGE=accept_language).content.decode()
    # then
    assert f'<html lang="{lang}">' in html
    assert f"<h1>{heading}</h1>" in html


@pytest.mark.django_db
def test_language_switch_works_before_sign_in(client, catalog):
    # when
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/accounts/login/"})
    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # then
    assert '<html lang="zh-hans">' in html
    assert "用户名" in html
