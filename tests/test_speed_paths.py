"""The fast paths of rendering: the compact form font and the warm render server.

Both must give the same documents as the slow paths they replace, and fall back to them
whenever they are not available."""

from __future__ import annotations

import json
import os
import signal
import time

from complaintforms.documents import fonts as formfont
from complaintforms.documents import server as renderd
from complaintforms.documents.forms import build_context, get_form
from complaintforms.documents.render import RendererSet

from .conftest import pdf_fonts, pdf_qr_codes, pdf_text, run_cli

CASE = {
    "kind": "complaint",
    "channel": "phone",
    "recorded_by": "吴芳",
    "complainant": {"name": "王小明", "phone": "13812345678"},
    "target": {"type": "department", "department": "SVC"},
    "content": "刹车异响，两次返厂未解决。",
}


def test_charset_holds_gb2312_and_form_punctuation():
    points = set(formfont.charset())
    for ch in "王小明投诉处理反馈单，。：（）【】０１２ABCabc123№●□√×":
        assert ord(ch) in points, ch
    assert ord("喆") not in points  # GBK only: falls back to the full face


def test_compact_font_is_smaller_with_low_glyph_ids(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPLAINTFORMS_CACHE_DIR", str(tmp_path))
    formfont.form_font.cache_clear()
    try:
        font = formfont.form_font("Noto Sans CJK SC")
    finally:
        formfont.form_font.cache_clear()
    assert font is not None and font.path.is_relative_to(tmp_path)
    from fontTools.ttLib import TTFont

    compact = TTFont(str(font.path), lazy=True)
    source, index = font.source.rsplit("#", 1)
    full = TTFont(source, fontNumber=int(index), lazy=True)
    assert compact["maxp"].numGlyphs < 20_000 < full["maxp"].numGlyphs
    cmap = compact.getBestCmap()
    assert ord("投") in cmap and ord("喆") not in cmap


def card(ws, name: str):
    from complaintforms.services.cases import register_case

    case = register_case(ws, {**CASE, "complainant": {"name": name}}, render=False)
    spec = get_form("record_card", ws.config)
    context = build_context(
        spec,
        case,
        ws.config,
        qr="CF1|X|Y|record_card|1|0",
        serial=1,
        generated_at=case["recorded_at"],
    )
    return spec, context


def test_compact_font_renders_the_same_page(ws, tmp_path, monkeypatch):
    import pypdfium2 as pdfium
    from PIL import ImageChops

    spec, context = card(ws, "王小明")
    pages = []
    for compact in (True, False):
        if not compact:
            monkeypatch.setattr(formfont, "form_font", lambda family: None)
        path = tmp_path / f"{compact}.pdf"
        path.write_bytes(RendererSet(ws.forms_dir).get("pdf").to_bytes(spec, context))
        fonts = pdf_fonts(path)
        assert len(fonts) == 1 and all(fonts.values())
        pages.append((path, pdfium.PdfDocument(str(path))[0].render(scale=1.5).to_pil()))
    (fast, fast_img), (slow, slow_img) = pages
    assert pdf_text(fast) == pdf_text(slow)
    assert ImageChops.difference(fast_img.convert("L"), slow_img.convert("L")).getbbox() is None
    assert fast.stat().st_size < 0.7 * slow.stat().st_size


def test_rare_character_falls_back_to_the_full_face(ws, tmp_path):
    spec, context = card(ws, "张喆")
    path = tmp_path / "rare.pdf"
    path.write_bytes(RendererSet(ws.forms_dir).get("pdf").to_bytes(spec, context))
    assert "张喆" in pdf_text(path)
    assert len(pdf_fonts(path)) == 2  # the compact copy and, for 喆, the full face


def test_a_stale_socket_means_rendering_in_process(ws, tmp_path, monkeypatch):
    monkeypatch.setenv("COMPLAINTFORMS_RENDER_SERVER", "1")
    path = renderd.socket_path(ws.forms_dir, ws.config.font_sans)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("not a socket")
    spec = get_form("record_card", ws.config)
    assert renderd.render(ws.forms_dir, ws.config.font_sans, spec, {}, ("pdf",)) is None
    # an edited stylesheet means another server
    css = ws.forms_dir / "forms.css"
    css.write_text(css.read_text() + "\n/* edited */\n")
    assert renderd.socket_path(ws.forms_dir, ws.config.font_sans) != path


def test_render_server_serves_the_next_command(tmp_path, server_env, monkeypatch):
    root = tmp_path / "ws"
    assert run_cli("init", str(root), env=server_env).returncode == 0
    case = json.dumps(CASE, ensure_ascii=False)
    first = run_cli(
        "-w", str(root), "--json", "case", "new", "--from", "-", env=server_env, input_text=case
    )
    assert first.returncode == 0, first.stderr
    for key, value in server_env.items():
        monkeypatch.setenv(key, value)
    from complaintforms.workspace import Workspace

    ws = Workspace.open(root)
    deadline = time.monotonic() + 180  # a loaded 2-core machine starts it slowly
    while renderd.status(ws.forms_dir, ws.config.font_sans) is None:
        assert time.monotonic() < deadline, "the render server did not start"
        time.sleep(0.2)
    second = run_cli(
        "-w", str(root), "--json", "case", "new", "--from", "-", env=server_env, input_text=case
    )
    assert second.returncode == 0, second.stderr
    # one card: the PDF and the docx, asked for on two connections
    assert renderd.status(ws.forms_dir, ws.config.font_sans)["served"] == 2
    made = json.loads(second.stdout)
    pdf = root / next(d["path"] for d in made["documents"] if d["format"] == "pdf")
    text = pdf_text(pdf)
    assert made["case_no"] in text and "王小明" in text
    assert pdf_qr_codes(pdf)[0].split("|")[2:4] == [made["case_no"], "record_card"]
    assert {d["format"] for d in made["documents"]} == {"pdf", "docx"}
    assert (
        (root / next(d["path"] for d in made["documents"] if d["format"] == "docx")).stat().st_size
    )
    # doctor reports it
    doctor = run_cli("-w", str(root), "--json", "doctor", env=server_env)
    checks = {c["check"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert "running" in checks["render-server"]["detail"]

    # The server refuses what the in-process renderer refuses, and nothing is written.
    glyphless = json.dumps({**CASE, "content": "无字形 \U0010fffd"}, ensure_ascii=False)
    third = run_cli(
        "-w", str(root), "case", "new", "--from", "-", env=server_env, input_text=glyphless
    )
    assert third.returncode == 1 and "would print as an empty box" in third.stderr
    assert renderd.status(ws.forms_dir, ws.config.font_sans)["served"] == 4  # PDF and docx
    assert ws.store.count() == 2

    # A server that has gone away leaves its socket behind; the next command renders itself.
    os.kill(renderd.status(ws.forms_dir, ws.config.font_sans)["pid"], signal.SIGKILL)
    time.sleep(0.3)
    fourth = run_cli(
        "-w", str(root), "--json", "case", "new", "--from", "-", env=server_env, input_text=case
    )
    assert fourth.returncode == 0, fourth.stderr
    assert json.loads(fourth.stdout)["case_no"] in pdf_text(
        root
        / next(d["path"] for d in json.loads(fourth.stdout)["documents"] if d["format"] == "pdf")
    )


def test_a_server_of_two_workers_renders_a_card_on_both_and_leaves_as_one(
    ws, server_env, monkeypatch
):
    """What `serve` starts: two render processes on one socket. A card's PDF and docx are
    rendered by both at once; the docs are those the in-process renderer makes; stopping
    the first stops the other."""
    for key, value in server_env.items():
        monkeypatch.setenv(key, value)
    renderd.start(ws.forms_dir, ws.config.font_sans, workers=2, wait=180)
    info = renderd.status(ws.forms_dir, ws.config.font_sans)
    assert info is not None and len(info["workers"]) == 2
    for pid in info["workers"]:
        os.kill(pid, 0)  # both alive
    from complaintforms.documents.pipeline import prepare
    from complaintforms.services.cases import register_case

    case = register_case(ws, dict(CASE), render=False)
    doc = prepare(ws, case, "record_card", serial=1, at=case["received_at"])
    spec, context = doc.spec, doc.context
    files = renderd.render(ws.forms_dir, ws.config.font_sans, spec, context, ("pdf", "docx"))
    assert set(files) == {"pdf", "docx"}
    assert files["pdf"].startswith(b"%PDF") and files["docx"].startswith(b"PK")
    (ws.root / "card.pdf").write_bytes(files["pdf"])
    assert case["case_no"] in pdf_text(ws.root / "card.pdf")
    local = RendererSet(ws.forms_dir)
    assert len(files["docx"]) == len(local.get("docx").to_bytes(spec, context))
    assert renderd.status(ws.forms_dir, ws.config.font_sans)["served"] == 2
    os.kill(info["pid"], signal.SIGTERM)
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in info["workers"]):
        assert time.monotonic() < deadline, "a worker outlived the server"
        time.sleep(0.2)
    assert renderd.status(ws.forms_dir, ws.config.font_sans) is None


def _alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)  # reap it when it is a child of this test
    except ChildProcessError:
        pass
    try:
        stat = open(f"/proc/{pid}/stat").read()  # noqa: SIM115
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
