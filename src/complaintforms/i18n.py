"""Messages in the user's language (DESIGN.md section 14): Simplified Chinese by default,
English on request (`language:` in complaintforms.yaml, `COMPLAINTFORMS_LANG` for one person).

Message ids are the English texts, marked in the code with `_()` (translated where used) or
`N_()` (kept as an id, e.g. in an error, and translated when shown). The Chinese catalog is
compiled from locale/zh_CN/*.po (scripts/compile_catalogs.py) into
src/complaintforms/locale/zh_CN/LC_MESSAGES/complaintforms.mo and read with the standard
library's gettext: no import cost beyond one small file.
"""

from __future__ import annotations

import gettext
import os
from pathlib import Path

DOMAIN = "complaintforms"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("zh-CN", "en")
DEFAULT = "zh-CN"
ENV_VAR = "COMPLAINTFORMS_LANG"

_state: dict = {"language": None, "translations": None}


def normalize(value: str | None) -> str | None:
    """'zh_CN', 'zh-cn', 'zh', '中文' -> 'zh-CN'; 'en', 'en_US.UTF-8' -> 'en'; else None."""
    text = (value or "").strip().split(".")[0].replace("_", "-").lower()
    if text in ("zh", "zh-cn", "zh-hans", "zh-hans-cn", "中文", "简体中文"):
        return "zh-CN"
    if text == "en" or text.startswith("en-"):
        return "en"
    return None


def set_language(value: str | None) -> str:
    """Use this language for what follows; an unknown or empty value means the default."""
    language = normalize(value) or DEFAULT
    if language == "en":
        translations: gettext.NullTranslations = gettext.NullTranslations()
    else:
        translations = gettext.translation(DOMAIN, LOCALE_DIR, languages=["zh_CN"], fallback=True)
    _state.update(language=language, translations=translations)
    # Click's own texts ("Usage:", "Missing option") go through the standard library's
    # global gettext: point it at this catalog, which carries their translations too.
    gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    gettext.textdomain(DOMAIN)
    os.environ["LANGUAGE"] = "zh_CN" if language == "zh-CN" else "en"
    return language


def choose(configured: str | None = None) -> str:
    """$COMPLAINTFORMS_LANG, else the workspace's `language`, else Chinese."""
    return set_language(os.environ.get(ENV_VAR) or configured)


def language() -> str:
    if _state["language"] is None:
        choose()
    return _state["language"]


def _(message: str) -> str:
    """`message` in the current language."""
    if _state["translations"] is None:
        choose()
    return _state["translations"].gettext(message) if message else message


def series(items) -> str:
    """Items named one after another in running text: 1、2 in Chinese, 1, 2 in English."""
    return ("、" if language() == "zh-CN" else ", ").join(str(item) for item in items)


def N_(message: str) -> str:
    """Marks a message id for the catalog without translating it here."""
    return message
