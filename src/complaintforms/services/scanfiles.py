"""Reading scanned files safely, for scan intake and evidence: the files named or found in
folders (links, devices and other special files are reported, never followed or opened),
each opened and checked on the open file, its kind sniffed from its first bytes; its pages
rendered one at a time (PDF via pypdfium2, images via Pillow) within hard limits of size,
pages and pixels (ScanLimits: the workspace's `scan:` settings over this module's defaults,
held in a context variable for the intake under way); the QR codes on a page (zxing-cpp),
whether a page is blank, and a file's pages cut out as a file of their own. Nothing here
knows of cases: checking the codes and attaching the pages is services.intake.
"""

from __future__ import annotations

import contextvars
import hashlib
import io
import math
import os
import stat
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from complaintforms.errors import ValidationError
from complaintforms.i18n import N_
from complaintforms.services.messages import Notice

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
SUFFIXES = (".pdf", *IMAGE_SUFFIXES)
SCAN_DPI = 200

# Hard limits: whatever the input, one intake stays under 500 MB of memory and bounded time.
# A file or page over a limit is kept under unmatched/ with the reason, never rendered.
MAX_FILE_BYTES = 200 * 1024 * 1024  # one scanned file (a larger one is reported, not kept)
MAX_PAGES = 500  # pages of one file
MAX_PAGE_POINTS = 4768.0  # the longer side of a PDF page, in points: 2A0 (1189 x 1682 mm)
MAX_PAGE_PIXELS = 40_000_000  # one page as read: PDFs are rendered at a lower resolution to
# fit it, images (or frames) with more pixels are refused before they are decoded


@dataclass(frozen=True)
class ScanLimits:
    file_bytes: int
    pages: int
    page_points: float
    page_pixels: int


# The limits of the intake under way (set from the workspace's `scan:` settings); the
# module's constants when none is set. A context variable, so that intakes running at once
# (the web interface) each keep their own.
_LIMITS: contextvars.ContextVar[ScanLimits | None] = contextvars.ContextVar(
    "scan_limits", default=None
)


def limits() -> ScanLimits:
    return _LIMITS.get() or ScanLimits(MAX_FILE_BYTES, MAX_PAGES, MAX_PAGE_POINTS, MAX_PAGE_PIXELS)


def limits_for(config) -> ScanLimits:
    """The workspace's `scan:` settings over the defaults."""
    given = getattr(config, "scan", None) or {}
    return ScanLimits(
        int(given["max_file_mb"] * 1024 * 1024) if "max_file_mb" in given else MAX_FILE_BYTES,
        int(given.get("max_pages", MAX_PAGES)),
        given["max_page_mm"] / 25.4 * 72 if "max_page_mm" in given else MAX_PAGE_POINTS,
        int(given["max_page_megapixels"] * 1_000_000)
        if "max_page_megapixels" in given
        else MAX_PAGE_PIXELS,
    )


# Blank pages (a separator sheet, the empty back of a slip), judged on the page downscaled
# to about BLANK_SIDE pixels on its longer side by a box filter, where a speck of the
# scanner averages away into its block and a pen or pencil stroke does not. A pixel of the
# small page is dark when it is BLANK_CONTRAST levels darker than the paper (its median grey,
# so grey or yellowed paper is judged alike), and it counts when a neighbour is dark too
# (writing is lines; two specks in one block are a lone dot). A page is blank when at most
# BLANK_FRACTION of its pixels, inside a margin of BLANK_MARGIN (the scanner's edges and
# shadows), count. Measured at 150-300 dpi: blank sheets with specks on 0.4-1.5 % of their
# pixels, JPEG or sensor noise, grey paper: at most 0.008 %; a signature alone, or two lines
# in pencil: 0.05-0.07 %; a line of handwriting 0.25 %. When in doubt a page is not blank:
# it follows the page before it, as a back page, and is never dropped.
BLANK_SIDE = 600
BLANK_CONTRAST = 32
BLANK_FRACTION = 0.0002
BLANK_MARGIN = 0.03


class Refused(Exception):
    """A file or page that is not read: `reason` is a Notice."""

    def __init__(self, reason: str):
        super().__init__(str(reason))
        self.reason = reason


@dataclass
class Source:
    """A scanned file. Its bytes are read again when they are stored (and checked against
    `sha256`), so that one intake holds at most one file in memory."""

    path: Path
    sha256: str
    kind: str  # "pdf" or "image"
    size: int = 0
    follow: bool = True  # named on the command line: a link to it is followed
    pages: int = 0
    cached: bytes | None = field(default=None, repr=False)

    @property
    def data(self) -> bytes:
        if self.cached is None:
            with open_scan(self.path, self.follow) as fh:
                data = fh.read(limits().file_bytes + 1)
            if hashlib.sha256(data).hexdigest() != self.sha256:
                raise ValidationError(
                    N_("{name}: changed while it was being taken in; run the intake again"),
                    name=self.path.name,
                )
            self.cached = data
        return self.cached

    def release(self) -> None:
        self.cached = None


@dataclass
class Entry:
    """A file to take in, as found on the command line or in a folder."""

    path: Path
    follow: bool  # named on the command line: a link is followed; in a folder it is not
    problem: str | None = None  # a Notice: not a file that can be taken in


# -- step 1: read -------------------------------------------------------------------------------
def _kind_of(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return Notice(N_("a link, not a file: not taken in"))
    if stat.S_ISDIR(mode):
        return Notice(N_("a folder inside a folder that cannot be read: not taken in"))
    return Notice(N_("not a regular file (device, pipe or socket): not taken in"))


def collect_entries(paths: Iterable[Path]) -> list[Entry]:
    """Files named on the command line, and the scans inside folders (sorted, so a stack keeps
    its order). Inside a folder, links and special files are reported, not followed; files
    whose names are not of scans are reported too (hidden files are passed over)."""
    entries: list[Entry] = []
    for path in map(Path, paths):
        try:
            mode = os.stat(path).st_mode  # named by the operator: a link is followed
        except FileNotFoundError:
            raise ValidationError(N_("{path}: no such file or folder"), path=str(path)) from None
        except OSError as exc:
            entries.append(Entry(path, True, _unreadable(exc)))
            continue
        if stat.S_ISDIR(mode):
            entries += _walk(path)
        elif stat.S_ISREG(mode):
            entries.append(Entry(path, True))
        else:
            entries.append(Entry(path, True, _kind_of(mode)))
    return entries


def _walk(folder: Path) -> list[Entry]:
    found: list[Entry] = []

    def onerror(exc: OSError) -> None:
        found.append(Entry(Path(exc.filename or folder), False, _unreadable(exc)))

    for root, dirs, files in os.walk(folder, followlinks=False, onerror=onerror):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        links = [d for d in dirs if os.path.islink(os.path.join(root, d))]
        for name in sorted(files + links):
            if name.startswith("."):
                continue
            path = Path(root) / name
            try:
                mode = os.lstat(path).st_mode
            except OSError as exc:
                found.append(Entry(path, False, _unreadable(exc)))
                continue
            if not stat.S_ISREG(mode):
                found.append(Entry(path, False, _kind_of(mode)))
            elif path.suffix.lower() not in SUFFIXES:
                found.append(
                    Entry(
                        path,
                        False,
                        Notice(
                            N_("not a PDF or an image ({suffixes}): not taken in"),
                            suffixes=", ".join(SUFFIXES),
                        ),
                    )
                )
            else:
                found.append(Entry(path, False))
    found.sort(key=lambda e: e.path.parts)
    return found


def _unreadable(exc: OSError) -> str:
    return Notice(N_("cannot be read: {error}"), error=exc.strerror or str(exc))


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """The files that can be taken in (see collect_entries)."""
    return [e.path for e in collect_entries(paths) if e.problem is None]


def open_scan(path: Path, follow: bool):
    """The file opened for reading, refused when it is not a regular file (or, for a file
    found in a folder, when it is a link): checked on the open file, not on the name."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if os.path.islink(path) and not follow:
            raise Refused(_kind_of(stat.S_IFLNK)) from None
        raise Refused(_unreadable(exc)) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):  # before fdopen, which refuses a folder with an OSError
        os.close(fd)
        raise Refused(_kind_of(mode))
    return os.fdopen(fd, "rb")


def sniff(head: bytes) -> str:
    return "pdf" if b"%PDF-" in head[:1024] else "image"


def read_source(entry: Entry) -> Source:
    """The file's digest and kind, read in pieces (its bytes are not kept)."""
    with open_scan(entry.path, entry.follow) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limits().file_bytes:
            raise Refused(
                Notice(
                    N_("larger than {limit} MB ({size} MB): not read, not kept"),
                    limit=limits().file_bytes // (1024 * 1024),
                    size=math.ceil(size / (1024 * 1024)),
                )
            )
        digest = hashlib.sha256()
        head = b""
        while chunk := fh.read(1024 * 1024):
            head = head or chunk[:1024]
            digest.update(chunk)
    return Source(entry.path, digest.hexdigest(), sniff(head), size, entry.follow)


def render_scale(width: float, height: float) -> float:
    """SCAN_DPI, or less when the page would have more pixels than the limit."""
    scale = SCAN_DPI / 72
    if width * height * scale * scale > limits().page_pixels:
        scale = math.sqrt(limits().page_pixels / (width * height)) * 0.99
    return scale


def check_page_size(index: int, width: float, height: float) -> None:
    if not (width > 0 and height > 0 and math.isfinite(width) and math.isfinite(height)):
        raise Refused(Notice(N_("page {page} has no size"), page=index + 1))
    if max(width, height) > limits().page_points:
        raise Refused(
            Notice(
                N_("page {page} is {width} x {height} mm, larger than {limit} mm: not read"),
                page=index + 1,
                width=round(width / 72 * 25.4),
                height=round(height / 72 * 25.4),
                limit=round(limits().page_points / 72 * 25.4),
            )
        )


def too_many_pages(count: int) -> Refused:
    return Refused(
        Notice(
            N_("{pages} pages, more than {limit} in one file: not read"),
            pages=count,
            limit=limits().pages,
        )
    )


def too_many_pixels(index: int, width: int, height: int) -> Refused:
    return Refused(
        Notice(
            N_("page {page} is {width} x {height} pixels, more than {limit} megapixels: not read"),
            page=index + 1,
            width=width,
            height=height,
            limit=round(limits().page_pixels / 1_000_000),
        )
    )


def page_images(source: Source):
    """Yield (index, grey PIL image, or a Refused for a page that is not read) for each page,
    one at a time to keep memory flat. Raises Refused when the file cannot be read at all."""
    with open_scan(source.path, source.follow) as fh:
        if source.kind == "pdf":
            yield from _pdf_pages(source, fh)
        else:
            yield from _image_pages(source, fh)


def _pdf_pages(source: Source, fh):
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(fh)
    except (pdfium.PdfiumError, OSError, ValueError) as exc:
        raise Refused(Notice(N_("not a readable PDF ({error})"), error=str(exc))) from None
    try:
        count = len(pdf)
        if count > limits().pages:
            raise too_many_pages(count)
        if count == 0:
            raise Refused(Notice(N_("a PDF without pages")))
        source.pages = count
        for i in range(count):
            try:
                page = pdf[i]
                try:
                    width, height = page.get_size()
                    check_page_size(i, width, height)
                    bitmap = page.render(scale=render_scale(width, height), grayscale=True)
                    image = bitmap.to_pil().convert("L")
                    del bitmap
                finally:
                    page.close()
            except Refused as refused:
                yield i, refused
                continue
            except MemoryError:
                yield i, Refused(Notice(N_("page {page}: too large to read"), page=i + 1))
                continue
            except Exception as exc:  # a damaged page: the others are still read
                yield (
                    i,
                    Refused(
                        Notice(
                            N_("page {page} cannot be read ({error})"), page=i + 1, error=str(exc)
                        )
                    ),
                )
                continue
            yield i, image
    finally:
        pdf.close()


def _image_pages(source: Source, fh):
    from PIL import Image, ImageSequence

    # Nothing over the pixel limit is decoded: the size is checked from the header first,
    # and Pillow's own decompression-bomb check is an error, never a warning.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(fh)
            frames = []
            for i, frame in enumerate(ImageSequence.Iterator(image)):
                if i >= limits().pages:
                    raise too_many_pages(getattr(image, "n_frames", i + 1))
                width, height = frame.size
                if width <= 0 or height <= 0:
                    raise Refused(Notice(N_("page {page} has no size"), page=i + 1))
                if width * height > limits().page_pixels:
                    raise too_many_pixels(i, width, height)
                frames.append(i)
            source.pages = len(frames)
            for i in frames:
                image.seek(i)
                yield i, image.convert("L")
    except Refused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused(
            Notice(
                N_("more than {limit} megapixels: not read"),
                limit=round(limits().page_pixels / 1_000_000),
            )
        ) from None
    except MemoryError:
        raise Refused(Notice(N_("too large to read"))) from None
    except Exception as exc:  # Pillow raises many kinds on damaged or foreign files
        raise Refused(
            Notice(N_("not a PDF or a readable image ({error})"), error=str(exc))
        ) from None


# -- step 2: find codes ----------------------------------------------------------------------------
def find_codes(image) -> list[str]:
    """QR codes on a page. zxing-cpp copes with rotation, skew, blur and speckles; a second,
    sharpened pass catches faint or low-resolution scans."""
    import zxingcpp

    fmt = zxingcpp.BarcodeFormat.QRCode
    found = zxingcpp.read_barcodes(image, formats=fmt)
    if not found:
        from PIL import ImageFilter, ImageOps

        boosted = ImageOps.autocontrast(image.filter(ImageFilter.MedianFilter(3)))
        if boosted.width < 2000 and boosted.width * boosted.height * 4 <= limits().page_pixels:
            boosted = boosted.resize((boosted.width * 2, boosted.height * 2))
        found = zxingcpp.read_barcodes(boosted, formats=fmt)
    return [r.text for r in found if r.text]


# -- step 3b: blank pages ----------------------------------------------------------------------------
def is_blank(image) -> bool:
    """Nothing on the page (a separator sheet, the empty back of a slip): see BLANK_*. Cheap
    (a few milliseconds): one box downscale, a histogram and a 3 x 3 filter of the small page."""
    from PIL import ImageChops, ImageFilter

    factor = max(1, round(max(image.size) / BLANK_SIDE))
    small = image.convert("L") if image.mode != "L" else image
    small = small.reduce(factor) if factor > 1 else small
    width, height = small.size
    mx, my = int(width * BLANK_MARGIN), int(height * BLANK_MARGIN)
    if width - 2 * mx < 3 or height - 2 * my < 3:
        return False
    small = small.crop((mx, my, width - mx, height - my))
    hist = small.histogram()[:256]
    total = sum(hist)
    seen, paper = 0, 255
    for level, count in enumerate(hist):
        seen += count
        if seen * 2 >= total:
            paper = level
            break
    if paper < 128:  # a dark page (an open lid, a photograph): not taken for blank
        return False
    cut = paper - BLANK_CONTRAST
    if sum(hist[: max(0, cut)]) <= total * BLANK_FRACTION:
        return True
    dark = small.point([255 if v < cut else 0 for v in range(256)])
    ring = ImageFilter.Kernel((3, 3), [1, 1, 1, 1, 0, 1, 1, 1, 1], scale=255)
    near = dark.filter(ring).point([255 if v else 0 for v in range(256)])
    joined = ImageChops.darker(dark, near).histogram()[255]  # dark, with a dark neighbour
    return joined <= total * BLANK_FRACTION


# -- a file's pages, as a file of their own (step 6 of the intake) ---------------------------
def kept_suffix(path: Path) -> str:
    """The file's own suffix when it is a plain one, else .bin."""
    suffix = path.suffix.lower()
    return (
        suffix if 1 < len(suffix) <= 6 and suffix[1:].isascii() and suffix[1:].isalnum() else ".bin"
    )


def extract_pages(source: Source, pages: list[int]) -> tuple[bytes, str]:
    """The group's pages as a file of their own: (bytes, suffix)."""
    if pages == list(range(source.pages)):  # the whole file: keep it exactly as scanned
        return source.data, kept_suffix(source.path)
    if source.kind == "pdf":
        import pypdfium2 as pdfium

        src = pdfium.PdfDocument(source.data)
        out = pdfium.PdfDocument.new()
        try:
            out.import_pages(src, pages)
            buf = io.BytesIO()
            out.save(buf)
            return buf.getvalue(), ".pdf"
        finally:
            out.close()
            src.close()
    from PIL import Image, ImageSequence

    # Only images whose every frame passed the pixel limit get here.
    frames = [
        f.convert("RGB")
        for i, f in enumerate(ImageSequence.Iterator(Image.open(io.BytesIO(source.data))))
        if i in pages
    ]
    buf = io.BytesIO()
    frames[0].save(buf, format="PDF", save_all=True, append_images=frames[1:], resolution=SCAN_DPI)
    return buf.getvalue(), ".pdf"


# -- for the progress bar ----------------------------------------------------------------------
def count_pages(entries: list[Entry] | list[Path]) -> int:
    """For the progress bar: the pages that will be read (a file that will not be read,
    or cannot be opened here, counts as one)."""
    total = 0
    for entry in entries:
        if not isinstance(entry, Entry):
            entry = Entry(Path(entry), True)
        if entry.problem is not None:
            continue
        count = 1
        try:
            with open_scan(entry.path, entry.follow) as fh:
                size = os.fstat(fh.fileno()).st_size
                if 0 < size <= limits().file_bytes and sniff(fh.read(1024)) == "pdf":
                    import pypdfium2 as pdfium

                    fh.seek(0)
                    pdf = pdfium.PdfDocument(fh)
                    try:
                        count = len(pdf) if len(pdf) <= limits().pages else 1
                    finally:
                        pdf.close()
        except Exception:  # read properly, and reported, by plan_intake
            count = 1
        total += count
    return total
