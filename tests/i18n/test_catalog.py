"""The zh-Hans catalog is complete, compiled and in step with the source."""

import shutil
import subprocess
from pathlib import Path

import polib
import pytest
from django.conf import settings

PO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


@pytest.fixture(scope="module")
def catalog():
    return polib.pofile(str(PO))


def test_no_untranslated_or_fuzzy_entries(catalog):
    missing = [e.msgid for e in catalog.untranslated_entries()]
    fuzzy = [e.msgid for e in catalog.fuzzy_entries()]
    assert missing == [], f"untranslated in zh_Hans: {missing}"
    assert fuzzy == [], f"fuzzy in zh_Hans: {fuzzy}"


def test_placeholders_survive_translation(catalog):
    import re

    pattern = re.compile(r"%\(\w+\)[sd]|%\(\w+\)\.\d+f|\{\w*\}")
    wrong = [
        e.msgid
        for e in catalog.translated_entries()
        for translation in (e.msgstr_plural.values() if e.msgid_plural else [e.msgstr])
        if sorted(pattern.findall(e.msgid)) != sorted(pattern.findall(translation))
    ]
    assert wrong == []


def test_compiled_catalog_matches_source(catalog):
    compiled = {(e.msgctxt, e.msgid): e.msgstr for e in polib.mofile(str(MO)) if e.msgid}
    source = {(e.msgctxt, e.msgid): e.msgstr for e in catalog.translated_entries()}
    assert compiled == source, "run `make messages` and commit the .mo file"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext")
def test_every_source_string_is_in_the_catalog(tmp_path, catalog):
    """Extract messages from the source as `make messages` does and compare msgids."""
    root = Path(settings.BASE_DIR)
    files = [
        str(p.relative_to(root))
        for app in ("config", "complaints", "followups", "reporting")
        for p in (root / app).rglob("*")
        if p.suffix in {".py", ".html", ".txt"}
    ]
    pot = tmp_path / "extract.pot"
    common = ["--from-code=UTF-8", "--omit-header", "-o", str(pot), "--join-existing"]
    pot.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n')
    py = [f for f in files if f.endswith(".py")]
    subprocess.run(
        [
            "xgettext",
            "-L",
            "Python",
            "--keyword=gettext_noop",
            "--keyword=gettext_lazy",
            "--keyword=ngettext_lazy:1,2",
            "--keyword=pgettext:1c,2",
            "--keyword=pgettext_lazy:1c,2",
            "--keyword=npgettext:1c,2,3",
            "--keyword=npgettext_lazy:1c,2,3",
            *common,
            *py,
        ],
        cwd=root,
        check=True,
    )
    extracted = {(e.msgctxt, e.msgid) for e in polib.pofile(str(pot)) if e.msgid}
    known = {(e.msgctxt, e.msgid) for e in catalog if not e.obsolete}
    assert sorted(extracted - known, key=str) == [], "run `make messages` and translate"
