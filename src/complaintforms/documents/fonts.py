"""A compact copy of the forms' CJK face: GB 2312's characters with glyph ids from 1 up.

WeasyPrint embeds each font subset with its original glyph ids (it writes glyph ids into the
page), so a PDF that uses a hundred characters of Noto Sans CJK still carries tables for the
~60,000 glyphs below the highest id it used: 790 KB before compression, about a third of a
feedback slip's render time went on subsetting and compressing it. Rendering from a copy that
holds only GB 2312 (6,763 hanzi, the punctuation and symbols forms use, Latin) puts every
common character below glyph 15,000; the slip went from 0.13 to 0.09 s and 175 to 74 KB.

The copy is made once per machine with HarfBuzz's subsetter (about 0.1 s) into the user's cache
and keyed by the source font file, so a font update makes a new one. Characters outside it
(rare names) fall back to the configured family itself, so nothing is lost: that document
simply embeds both. Anything missing (no libharfbuzz-subset, no font, no writable cache) means
forms use the installed family directly, as before.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

# Bump when the character set changes: it is part of the cache key.
CHARSET_VERSION = 1

# Besides GB 2312: Latin-1 and Latin Extended-A, general punctuation, letter-like symbols,
# arrows and maths operators, enclosed numbers, box drawing and shapes, CJK punctuation,
# full-width forms.
_EXTRA_RANGES = (
    (0x20, 0x7E),
    (0xA0, 0x17F),
    (0x2000, 0x206F),
    (0x2100, 0x22FF),
    (0x2460, 0x24FF),
    (0x2500, 0x25FF),
    (0x3000, 0x303F),
    (0xFF00, 0xFFEF),
)


@dataclass(frozen=True)
class FormFont:
    """The compact copy: the CSS family name it is registered under and its file."""

    family: str
    path: Path
    source: str


def charset() -> list[int]:
    """Code points the compact copy keeps, sorted."""
    points = {c for lo, hi in _EXTRA_RANGES for c in range(lo, hi + 1)}
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                points.add(ord(bytes((hi, lo)).decode("gb2312")))
            except UnicodeDecodeError:
                pass
    return sorted(points)


def cache_dir() -> Path:
    if os.environ.get("COMPLAINTFORMS_CACHE_DIR"):
        return Path(os.environ["COMPLAINTFORMS_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "complaintforms"


@functools.lru_cache(maxsize=1)
def fontconfig():
    """libfontconfig with the signatures this package calls, or None when it is missing.

    Asked directly (a few ms) rather than through fc-list / fc-match subprocesses; the
    configuration it loads is the one Pango uses next."""
    try:
        fc = ctypes.CDLL("libfontconfig.so.1")
    except OSError:
        return None
    vp = ctypes.c_void_p
    fc.FcNameParse.restype = vp
    fc.FcNameParse.argtypes = [ctypes.c_char_p]
    fc.FcObjectSetBuild.restype = vp  # variadic: no argtypes
    fc.FcFontList.restype = vp
    fc.FcFontList.argtypes = [vp, vp, vp]
    fc.FcConfigSubstitute.argtypes = [vp, vp, ctypes.c_int]
    fc.FcDefaultSubstitute.argtypes = [vp]
    fc.FcFontMatch.restype = vp
    fc.FcFontMatch.argtypes = [vp, vp, ctypes.POINTER(ctypes.c_int)]
    fc.FcPatternGetString.argtypes = [vp, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(vp)]
    fc.FcPatternGetInteger.argtypes = [
        vp,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_int),
    ]
    for name in ("FcPatternDestroy", "FcObjectSetDestroy", "FcFontSetDestroy"):
        getattr(fc, name).argtypes = [vp]
    return fc


def find_face(family: str) -> tuple[str, int] | None:
    """(file, face index) of the regular face of `family`, asked of fontconfig; None when
    fontconfig would substitute another family."""
    fc = fontconfig()
    if fc is None:
        return None
    vp = ctypes.c_void_p
    escaped = re.sub(r"([\\:,-])", r"\\\1", family)
    pattern = fc.FcNameParse(f"{escaped}:style=Regular:lang=zh-cn".encode())
    if not pattern:
        return None
    fc.FcConfigSubstitute(None, pattern, 0)
    fc.FcDefaultSubstitute(pattern)
    match = fc.FcFontMatch(None, pattern, ctypes.byref(ctypes.c_int()))
    fc.FcPatternDestroy(pattern)
    if not match:
        return None
    try:
        families, value, n = [], vp(), 0
        while fc.FcPatternGetString(match, b"family", n, ctypes.byref(value)) == 0:
            families.append(ctypes.string_at(value.value).decode("utf-8", "replace"))
            n += 1
        if family not in families:
            return None
        if fc.FcPatternGetString(match, b"file", 0, ctypes.byref(value)) != 0:
            return None
        path = ctypes.string_at(value.value).decode("utf-8", "surrogateescape")
        index = ctypes.c_int(0)
        fc.FcPatternGetInteger(match, b"index", 0, ctypes.byref(index))
        return path, index.value
    finally:
        fc.FcPatternDestroy(match)


def subset_font(source: str, index: int, points: list[int]) -> bytes:
    """The face `index` of `source` cut down to `points`, glyph ids renumbered (HarfBuzz)."""
    hb = ctypes.CDLL("libharfbuzz.so.0")
    hs = ctypes.CDLL("libharfbuzz-subset.so.0")
    vp = ctypes.c_void_p
    hb.hb_blob_create_from_file_or_fail.restype = vp
    hb.hb_blob_create_from_file_or_fail.argtypes = [ctypes.c_char_p]
    hb.hb_face_create.restype = vp
    hb.hb_face_create.argtypes = [vp, ctypes.c_uint]
    hb.hb_set_add.argtypes = [vp, ctypes.c_uint32]
    hb.hb_face_reference_blob.restype = vp
    hb.hb_face_reference_blob.argtypes = [vp]
    hb.hb_blob_get_data.restype = vp
    hb.hb_blob_get_data.argtypes = [vp, ctypes.POINTER(ctypes.c_uint)]
    for name in ("hb_blob_destroy", "hb_face_destroy"):
        getattr(hb, name).argtypes = [vp]
    hs.hb_subset_input_create_or_fail.restype = vp
    hs.hb_subset_input_unicode_set.restype = vp
    hs.hb_subset_input_unicode_set.argtypes = [vp]
    hs.hb_subset_input_destroy.argtypes = [vp]
    hs.hb_subset_or_fail.restype = vp
    hs.hb_subset_or_fail.argtypes = [vp, vp]

    blob = hb.hb_blob_create_from_file_or_fail(os.fsencode(source))
    if not blob:
        raise OSError(f"cannot read {source}")
    face = hb.hb_face_create(blob, index)
    request = hs.hb_subset_input_create_or_fail()
    out = out_blob = None
    try:
        if not request:
            raise OSError("HarfBuzz could not start a subset")
        unicodes = hs.hb_subset_input_unicode_set(request)
        for point in points:
            hb.hb_set_add(unicodes, point)
        out = hs.hb_subset_or_fail(face, request)
        if not out:
            raise OSError(f"HarfBuzz could not subset {source}")
        out_blob = hb.hb_face_reference_blob(out)
        length = ctypes.c_uint()
        data = hb.hb_blob_get_data(out_blob, ctypes.byref(length))
        return ctypes.string_at(data, length.value)
    finally:
        if out_blob:
            hb.hb_blob_destroy(out_blob)
        if out:
            hb.hb_face_destroy(out)
        if request:
            hs.hb_subset_input_destroy(request)
        hb.hb_face_destroy(face)
        hb.hb_blob_destroy(blob)


@functools.lru_cache(maxsize=4)
def form_font(family: str) -> FormFont | None:
    """The compact copy of `family`, made on first use; None when it cannot be had."""
    face = find_face(family)
    if face is None:
        return None
    source, index = face
    try:
        stat = os.stat(source)
    except OSError:
        return None
    key = hashlib.sha256(
        f"{source}|{index}|{stat.st_size}|{stat.st_mtime_ns}|{CHARSET_VERSION}".encode()
    ).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9]+", "-", family).strip("-") or "font"
    path = cache_dir() / "fonts" / f"{slug}-gb2312-{key}.otf"
    # Letters, digits and spaces only: WeasyPrint (70) puts the family into the PDF's font
    # name unescaped, and "(" or ")" there made every PDF malformed.
    css_family = f"{re.sub(r'[^A-Za-z0-9 ]+', ' ', family).strip()} GB2312 complaintforms"
    if path.is_file():
        return FormFont(css_family, path, f"{source}#{index}")
    try:
        data = subset_font(source, index, charset())
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole then renamed: another process may be making the same file.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        return None
    return FormFont(css_family, path, f"{source}#{index}")
