"""One renderer interface for docx, html and pdf.

Templates live in the workspace's forms/ folder and can read nothing outside it: Jinja2 runs
sandboxed with a loader rooted at forms/, and WeasyPrint's URL fetcher allows only files
under forms/ and data: URLs. Values are escaped in both formats (autoescape on).
"""

from __future__ import annotations

import base64
import functools
import io
import logging
import os
import pickle
import shutil
import subprocess
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from complaintforms.documents.forms import FormSpec
from complaintforms.errors import ComplaintFormsError, RenderError
from complaintforms.i18n import N_

FORMATS = ("pdf", "docx", "html")


@dataclass(frozen=True)
class Picture:
    """A chart: SVG for the HTML/PDF (crisp, embedded as a data URI image) and PNG for Word."""

    svg: bytes
    png: bytes
    width_mm: float = 160

    def data_uri(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg).decode("ascii")


def convert_pictures(value, convert):
    """Replace every Picture inside nested dicts and lists."""
    if isinstance(value, Picture):
        return convert(value)
    if isinstance(value, dict):
        return {k: convert_pictures(v, convert) for k, v in value.items()}
    if isinstance(value, list):
        return [convert_pictures(v, convert) for v in value]
    return value


def is_qr_key(key: str) -> bool:
    """Context values under these keys are QR payloads, drawn as images by each renderer."""
    return key == "qr" or key.startswith("qr_")


class Renderer(Protocol):
    fmt: str

    def render(self, spec: FormSpec, context: dict, out: Path) -> None: ...


def inside_forms(forms_dir: Path, path: Path) -> bool:
    """A regular file whose real path (symlinks resolved) lies inside forms/: the only files
    a template may read. A link to /etc/passwd, or a linked folder, is not."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a loop of links
        return False
    return real.is_relative_to(Path(forms_dir).resolve()) and real.is_file()


def jinja_env(forms_dir: Path | None = None):
    """A sandboxed, autoescaping environment; undefined names are errors, not blanks; the
    loader reads only regular files inside forms/ (`inside_forms`)."""
    from jinja2 import FileSystemLoader, StrictUndefined, TemplateNotFound
    from jinja2.sandbox import SandboxedEnvironment

    class FormsLoader(FileSystemLoader):
        def get_source(self, environment, template):
            source, filename, uptodate = super().get_source(environment, template)
            if not inside_forms(Path(self.searchpath[0]), Path(filename)):
                refused = TemplateNotFound(template)
                refused.outside_forms = True
                raise refused
            return source, filename, uptodate

    loader = FormsLoader(str(forms_dir)) if forms_dir else None
    return SandboxedEnvironment(loader=loader, autoescape=True, undefined=StrictUndefined)


def template_error(name: str, exc) -> RenderError:
    """A template that Jinja2 refused: the file, the line when known, and Jinja2's words."""
    error = exc.message or str(exc)
    if getattr(exc, "lineno", None):
        return RenderError(
            N_("forms/{name} line {line}: {error}"), name=name, line=exc.lineno, error=error
        )
    return RenderError(N_("forms/{name}: {error}"), name=name, error=error)


class HtmlRenderer:
    fmt = "html"

    def __init__(self, forms_dir: Path):
        self.forms_dir = Path(forms_dir).resolve()
        self.env = jinja_env(self.forms_dir)

    def to_string(self, spec: FormSpec, context: dict) -> str:
        from jinja2 import TemplateError, TemplateNotFound

        name = f"{spec.name}.html"
        try:
            template = self.env.get_template(name)
            from complaintforms.documents.qrcode import svg_data_uri

            ctx = {k: svg_data_uri(v) if is_qr_key(k) else v for k, v in context.items()}
            ctx = convert_pictures(ctx, Picture.data_uri)
            return template.render(ctx)
        except TemplateNotFound as exc:
            if getattr(exc, "outside_forms", False):
                raise RenderError(
                    N_(
                        "forms/{name} leads outside forms/ (a link to a file elsewhere); "
                        "templates may read only files in forms/"
                    ),
                    name=exc.name,
                ) from None
            raise RenderError(
                N_(
                    "forms/{name} is missing from this workspace (made before this form "
                    "existed?); copy it from a new workspace (complaintforms init) into {folder}"
                ),
                name=exc.name,
                folder=str(self.forms_dir),
            ) from None
        except TemplateError as exc:
            raise template_error(name, exc) from None
        except (OverflowError, RecursionError, MemoryError) as exc:  # the sandbox's limits
            raise RenderError(
                N_("forms/{name}: the template asks too much ({error})"), name=name, error=str(exc)
            ) from None

    def render(self, spec: FormSpec, context: dict, out: Path) -> None:
        out.write_text(self.to_string(spec, context), encoding="utf-8")


@functools.lru_cache(maxsize=4)
def font_families(pattern: str = ":") -> tuple[str, ...]:
    """Families of the installed fonts matching a fontconfig pattern."""
    if shutil.which("fc-list") is None:
        return ()
    try:
        out = subprocess.run(
            ["fc-list", pattern, "family"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return tuple(
        sorted({f.strip() for line in out.splitlines() for f in line.split(",") if f.strip()})
    )


@functools.lru_cache(maxsize=1)
def has_cjk_font() -> bool:
    """Whether fontconfig knows a font covering Simplified Chinese.

    Asked of libfontconfig directly rather than through fc-list, which would cost a
    subprocess on every PDF. Without any font at all Pango crashes the process, so this
    check comes first.
    """
    import ctypes

    from complaintforms.documents.fonts import fontconfig

    fc = fontconfig()
    if fc is None:
        return bool(cjk_fonts())
    pattern = fc.FcNameParse(b":lang=zh-cn")
    objects = fc.FcObjectSetBuild(b"family", None)
    fonts = fc.FcFontList(None, pattern, objects)
    try:
        return bool(fonts) and ctypes.cast(fonts, ctypes.POINTER(ctypes.c_int))[0] > 0
    finally:
        fc.FcPatternDestroy(pattern)
        fc.FcObjectSetDestroy(objects)
        if fonts:
            fc.FcFontSetDestroy(fonts)


def cjk_fonts() -> tuple[str, ...]:
    """Families of the installed fonts that cover Simplified Chinese."""
    return font_families(":lang=zh-cn")


def import_weasyprint():
    """Import WeasyPrint without its slow library search.

    WeasyPrint tries several names for each native library through cffi, which calls
    ctypes.util.find_library for each miss; on Linux that spawns ldconfig and gcc, about
    0.1 s per process. The names WeasyPrint tries include the plain sonames
    (libpango-1.0.so.0), which the loader finds by itself, so the search can be skipped; if
    the import fails that way, it is retried with the search.
    """
    import sys

    if "weasyprint" in sys.modules or not sys.platform.startswith("linux"):
        import weasyprint

        _compress_at_level_6()
        _escape_font_names()
        return weasyprint
    import ctypes.util

    original = ctypes.util.find_library
    ctypes.util.find_library = lambda name: None
    try:
        import weasyprint
    except OSError:
        for name in [m for m in sys.modules if m == "weasyprint" or m.startswith("weasyprint.")]:
            del sys.modules[name]
        ctypes.util.find_library = original
        import weasyprint
    finally:
        ctypes.util.find_library = original
    _compress_at_level_6()
    _escape_font_names()
    return weasyprint


def _escape_font_names() -> None:
    """WeasyPrint 70 writes a font's family into its PDF name as it is: a family with "(",
    "/", "#" or a non-ASCII letter gives a font dictionary that is not valid PDF (qpdf
    repairs it, poppler reports a syntax error, PDF/A validators refuse it). Bytes outside
    the safe set are written as #XX escapes (PDF 32000-1, 7.3.5)."""
    import re

    from weasyprint.pdf import fonts

    init = fonts.Font.__init__
    if getattr(init, "complaintforms", False):
        return

    def escaped_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.name = b"/" + re.sub(
            rb"[^A-Za-z0-9+\-_.]", lambda m: b"#%02X" % m.group()[0], self.name[1:]
        )

    escaped_init.complaintforms = True
    fonts.Font.__init__ = escaped_init


def _compress_at_level_6() -> None:
    """pydyf compresses every PDF stream at zlib level 9; level 6 takes less than half the
    time for 0.5 % more bytes (a slip's font: 5.8 ms against 2.2 ms)."""
    import types
    import zlib

    import pydyf

    if getattr(pydyf.zlib, "complaintforms", False):
        return
    shim = types.SimpleNamespace(**{n: getattr(zlib, n) for n in dir(zlib) if not n[:1] == "_"})
    shim.compressobj = lambda level=-1, *args, **kwargs: zlib.compressobj(
        min(level, 6) if level >= 0 else level, *args, **kwargs
    )
    shim.complaintforms = True
    pydyf.zlib = shim


def harfbuzz_subsetting() -> bool:
    """True when WeasyPrint subsets fonts with HarfBuzz (fast) rather than fontTools (~8 s)."""
    import_weasyprint()
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    return bool(harfbuzz_subset) and bool(harfbuzz.hb_version_atleast(4, 1, 0))


class _NotdefCatcher(logging.Handler):
    """WeasyPrint only logs a missing glyph; we refuse the form instead."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.missing: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if ".notdef glyph" in message:
            self.missing.append(message)


class PdfRenderer:
    fmt = "pdf"

    def __init__(self, forms_dir: Path, *, pdf_variant: str | None = None):
        self.html = HtmlRenderer(forms_dir)
        self.forms_dir = self.html.forms_dir
        self.pdf_variant = pdf_variant
        self._fetcher = None
        self._font_config = None
        self._stylesheets: list | None = None
        self._form_family = ""

    def fetcher(self):
        if self._fetcher is None:
            self._fetcher = _forms_only_fetcher(self.forms_dir)
        return self._fetcher

    def render(self, spec: FormSpec, context: dict, out: Path) -> None:
        out.write_bytes(self.to_bytes(spec, context))

    def _shared_stylesheets(self, weasyprint, family: str | None) -> list:
        """The compact form font's @font-face (first, when there is one) and forms.css,
        parsed once with this renderer's font configuration, so that fonts stay loaded and
        the stylesheet parsed between documents (a tenth of a slip's render time).

        forms.css is given as a user stylesheet in place of the template's <link>: user rules
        yield to the template's own <style> as before, and forms.css is the only other sheet."""
        if self._stylesheets is not None:
            return list(self._stylesheets)
        from weasyprint.text.fonts import FontConfiguration

        from complaintforms.documents.fonts import form_font

        self._font_config = FontConfiguration()
        sheets = []
        font = form_font(family) if family else None
        if font is not None:
            path = font.path.resolve()
            sheets.append(
                weasyprint.CSS(
                    string=f'@font-face {{ font-family: "{font.family}"; src: url("{path.as_uri()}"); }}',
                    url_fetcher=_restricted_fetcher(path.parent, only=path),
                    font_config=self._font_config,
                )
            )
            self._form_family = font.family
        css = self.forms_dir / "forms.css"
        if css.is_file():
            sheets.append(
                weasyprint.CSS(
                    filename=str(css),
                    base_url=self.forms_dir.as_uri() + "/",
                    url_fetcher=self.fetcher(),
                    font_config=self._font_config,
                )
            )
        self._stylesheets = sheets
        return list(sheets)

    def warm_up(self, family: str) -> None:
        """Load the fonts and parse forms.css now rather than with the first document."""
        weasyprint = import_weasyprint()
        self._shared_stylesheets(weasyprint, family)
        weasyprint.HTML(string='<html lang="zh-CN"><body>预热 Warm</body></html>').write_pdf(
            font_config=self._font_config
        )

    def to_bytes(self, spec: FormSpec, context: dict) -> bytes:
        if not has_cjk_font():
            raise RenderError(
                N_(
                    "no Chinese (CJK) font is installed, the PDF would show empty boxes; "
                    "install fonts-noto-cjk (apt-get install fonts-noto-cjk)"
                )
            )
        weasyprint = import_weasyprint()
        from weasyprint.urls import FatalURLFetchingError

        fetcher = self.fetcher()
        fetcher.blocked.clear()
        catcher = _NotdefCatcher()
        logger = logging.getLogger("weasyprint")
        logger.addHandler(catcher)
        try:
            stylesheets = self._shared_stylesheets(
                weasyprint, (context.get("fonts") or {}).get("sans")
            )
            if "fonts" in context:
                context = {**context, "fonts": {**context["fonts"], "form": self._form_family}}
            source = self.html.to_string(spec, context)
            if stylesheets and SHARED_CSS_LINK in source:
                source = source.replace(SHARED_CSS_LINK, "", 1)
            else:
                stylesheets = stylesheets[:1] if self._form_family else []
            document = weasyprint.HTML(
                string=source, base_url=self.forms_dir.as_uri() + "/", url_fetcher=fetcher
            )
            options = {"pdf_variant": self.pdf_variant} if self.pdf_variant else {}
            pdf = document.write_pdf(
                font_config=self._font_config, stylesheets=stylesheets, **options
            )
        except FatalURLFetchingError:
            if not fetcher.blocked:
                raise RenderError(
                    N_(
                        "forms/{name} refers to a resource, outside forms/; templates may use "
                        "only files in forms/ and data: URLs"
                    ),
                    name=f"{spec.name}.html",
                ) from None
            raise RenderError(
                N_(
                    "forms/{name} refers to {url}, outside forms/; templates may use only "
                    "files in forms/ and data: URLs"
                ),
                name=f"{spec.name}.html",
                url=fetcher.blocked[-1],
            ) from None
        finally:
            logger.removeHandler(catcher)
        if catcher.missing:
            raise RenderError(
                N_(
                    "{title} for {case_no}: a character has no glyph in the installed fonts "
                    "and would print as an empty box ({detail})"
                ),
                title=spec.title,
                case_no=context.get("case_no"),
                detail=catcher.missing[0][:120],
            )
        return pdf


# The template's link to the shared stylesheet, which the PDF renderer parses only once.
SHARED_CSS_LINK = '<link rel="stylesheet" href="forms.css">'


def _forms_only_fetcher(forms_dir: Path):
    return _restricted_fetcher(forms_dir)


def _restricted_fetcher(forms_dir: Path, only: Path | None = None):
    """A URL fetcher for data: URLs and files under `forms_dir` (or the one file `only`)."""
    from urllib.parse import unquote, urlparse

    import_weasyprint()
    from weasyprint.urls import URLFetcher

    class FormsOnlyFetcher(URLFetcher):
        def __init__(self):
            super().__init__(fail_on_errors=True, allowed_protocols=("file", "data"))
            self.blocked: list[str] = []

        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            if url.startswith("file:"):
                path = Path(unquote(urlparse(url).path)).resolve()
                if path.is_relative_to(forms_dir) and path.is_file() and only in (None, path):
                    return super().fetch(url, headers)
            self.blocked.append(url[:200])
            raise ValueError(f"not allowed: {url[:200]}")

    return FormsOnlyFetcher()


class DocxRenderer:
    fmt = "docx"

    def __init__(self, forms_dir: Path):
        self.forms_dir = Path(forms_dir).resolve()

    def render(self, spec: FormSpec, context: dict, out: Path) -> None:
        out.write_bytes(self.to_bytes(spec, context))

    def to_bytes(self, spec: FormSpec, context: dict) -> bytes:
        from docx.opc.exceptions import PackageNotFoundError
        from docx.shared import Mm
        from docxtpl import DocxTemplate, InlineImage
        from jinja2 import TemplateError

        path = self.forms_dir / f"{spec.name}.docx"
        if not inside_forms(self.forms_dir, path):
            raise RenderError(
                N_(
                    "forms/{name} is missing from this workspace; copy it from a new "
                    "workspace (complaintforms init) into {folder}"
                ),
                name=f"{spec.name}.docx",
                folder=str(self.forms_dir),
            )
        try:
            template = DocxTemplate(str(path))
            from complaintforms.documents.qrcode import png_bytes

            ctx = {
                k: InlineImage(template, io.BytesIO(png_bytes(v)), width=Mm(24))
                if is_qr_key(k)
                else v
                for k, v in context.items()
            }
            ctx = convert_pictures(
                ctx, lambda p: InlineImage(template, io.BytesIO(p.png), width=Mm(p.width_mm))
            )
            template.render(ctx, jinja_env=jinja_env(), autoescape=True)
            buf = io.BytesIO()
            template.save(buf)
        except TemplateError as exc:
            raise template_error(f"{spec.name}.docx", exc) from None
        except (OverflowError, RecursionError, MemoryError) as exc:  # the sandbox's limits
            raise RenderError(
                N_("forms/{name}: the template asks too much ({error})"),
                name=f"{spec.name}.docx",
                error=str(exc),
            ) from None
        except (PackageNotFoundError, zipfile.BadZipFile, KeyError) as exc:
            raise RenderError(
                N_("forms/{name}: not a Word document ({error})"),
                name=f"{spec.name}.docx",
                error=str(exc),
            ) from None
        return buf.getvalue()


def renderer_for(fmt: str, forms_dir: Path, **options) -> Renderer:
    if fmt == "pdf":
        return PdfRenderer(forms_dir, **options)
    if fmt == "docx":
        return DocxRenderer(forms_dir)
    if fmt == "html":
        return HtmlRenderer(forms_dir)
    raise RenderError(
        N_("unknown format {value}; formats: {known}"), value=repr(fmt), known=", ".join(FORMATS)
    )


# -- one document in several formats ------------------------------------------------------------
class RendererSet:
    """One renderer per format, reused across documents (font config, stylesheet, fetcher)."""

    def __init__(self, forms_dir: Path, **pdf_options):
        self.forms_dir = forms_dir
        # Every PDF is PDF/A-3u from the start, so the copy sealed into an archive bundle is
        # the document that went out, not a re-rendering of it.
        self.pdf_options = {"pdf_variant": "pdf/a-3u", **pdf_options}
        self._by_fmt: dict[str, Renderer] = {}

    def get(self, fmt: str) -> Renderer:
        if fmt not in self._by_fmt:
            options = self.pdf_options if fmt == "pdf" else {}
            self._by_fmt[fmt] = renderer_for(fmt, self.forms_dir, **options)
        return self._by_fmt[fmt]


def render_bytes(renderer: Renderer, spec, context: dict) -> bytes:
    if renderer.fmt == "html":
        return renderer.to_string(spec, context).encode("utf-8")
    return renderer.to_bytes(spec, context)


def render_all(
    renderers: RendererSet, spec, context: dict, formats: tuple[str, ...]
) -> dict[str, bytes]:
    """Render one document in several formats.

    The PDF (WeasyPrint) and the docx (docxtpl) share nothing, so with a PDF and another
    format the others are rendered in a forked child on the second core while this process
    renders the PDF: it saves docxtpl's import and the docx render (~0.15 s) on `case new`.
    Only in a single-threaded process, where fork is safe.
    """
    others = [f for f in formats if f != "pdf"]
    if (
        "pdf" not in formats
        or not others
        or not hasattr(os, "fork")
        or threading.active_count() > 1
    ):
        return {f: render_bytes(renderers.get(f), spec, context) for f in formats}
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: render the other formats, send them back, leave at once
        os.close(read_fd)
        try:
            try:
                payload = pickle.dumps(
                    ("ok", {f: render_bytes(renderers.get(f), spec, context) for f in others})
                )
            except ComplaintFormsError as exc:
                payload = pickle.dumps(("refused", portable(exc)))
            except BaseException as exc:  # noqa: BLE001 - reported by the parent
                payload = pickle.dumps(("failed", f"{type(exc).__name__}: {exc}"))
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(payload)
        finally:
            os._exit(0)
    os.close(write_fd)
    try:
        pdf = render_bytes(renderers.get("pdf"), spec, context)
    finally:
        with os.fdopen(read_fd, "rb") as pipe:
            raw = pipe.read()
        os.waitpid(pid, 0)
    if not raw:
        raise RenderError(N_("{title}: the docx renderer stopped unexpectedly"), title=spec.title)
    status, value = pickle.loads(raw)
    if status == "refused":
        raise value
    if status != "ok":
        raise RenderError(
            N_("{title}: the {formats} renderer failed: {error}"),
            title=spec.title,
            formats=", ".join(others),
            error=value,
        )
    return {f: pdf if f == "pdf" else value[f] for f in formats}


def portable(exc: ComplaintFormsError) -> ComplaintFormsError:
    """The error itself when it survives pickling (to another process) with its message id
    and values, else a RenderError with its English text."""
    try:
        back = pickle.loads(pickle.dumps(exc))
        if isinstance(back, ComplaintFormsError) and back.msgid == exc.msgid:
            return exc
    except Exception:  # noqa: BLE001 - an error that does not travel is sent as text
        pass
    return RenderError(str(exc))


def quieter_gc() -> None:
    """For long-lived render processes: layout allocates millions of short-lived objects, and
    the collector's default of a pass every 700 allocations took ~5 % of a slip's render time.
    Objects from the imports are frozen out of the passes; cycles are still collected."""
    import gc

    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
