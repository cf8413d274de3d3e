"""Hostile bundles (issue 12, point 6 and `archive show` of point 4): a zip bomb is reported,
not unpacked; verification streams the entries and writes nothing to disk; tampering is
still found; `archive show` of a file that is no zip gives a reason, not "internal error"."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from complaintforms.services import archive, bagzip

from .test_archive import bundle, sealed

ZEROS_MB = 300  # deflated to about 300 KB: ratio about 1000:1


def entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def rewrite(path: Path, files: dict[str, bytes], bomb: str | None = None) -> None:
    """`path` made again from `files`, plus (if named) an entry of ZEROS_MB of zeros, streamed
    into the zip so that this test holds only one MB at a time."""
    path.unlink()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        if bomb:
            with zf.open(bomb, "w") as fh:
                block = bytes(1 << 20)
                for _ in range(ZEROS_MB):
                    fh.write(block)


@functools.cache
def zeros_digest() -> str:
    digest, block = hashlib.sha256(), bytes(1 << 20)
    for _ in range(ZEROS_MB):
        digest.update(block)
    return digest.hexdigest()


def bombed(ws, case_no: str) -> Path:
    """The case's bundle with a bomb added to its payload and listed in its manifest."""
    path = bundle(ws, case_no)
    files = entries(path)
    manifest = f"{case_no}/manifest-sha256.txt"
    files[manifest] += f"{zeros_digest()}  data/forms/zeros.pdf\n".encode()
    rewrite(path, files, bomb=f"{case_no}/data/forms/zeros.pdf")
    assert path.stat().st_size < 2 * 1024**2
    return path


@pytest.fixture
def no_tempfiles(monkeypatch):
    """Called, makes any use of the temporary folder fail from then on."""

    def refuse(*args, **kwargs):
        raise AssertionError("the temporary folder was used")

    def apply() -> None:
        for name in ("mkdtemp", "mkstemp", "TemporaryDirectory", "NamedTemporaryFile"):
            monkeypatch.setattr(tempfile, name, refuse)

    return apply


def big_files_since(folder: Path, start: float, limit: int = 5 * 1024**2) -> list[Path]:
    found = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            p = Path(root, name)
            try:
                st = p.stat()
            except OSError:
                continue
            if st.st_mtime >= start and st.st_size > limit:
                found.append(p)
    return found


def problems_of(cf, *args) -> list[str]:
    result = cf("archive", "verify", *args, json_out=True)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "internal error" not in result.stderr
    return json.loads(result.stdout)["problems"]


def test_a_zip_bomb_is_reported_and_nothing_is_unpacked(cf, ws, tmp_path, no_tempfiles):
    [a, b] = sealed(cf, tmp_path)
    bombed(ws, a)
    no_tempfiles()
    start = time.time() - 1
    began = time.monotonic()
    problems = problems_of(cf, "--all")
    assert time.monotonic() - began < 10
    assert any(a in p and "unpacks to more than" in p and "zeros.pdf" in p for p in problems)
    assert any(a in p and "replaced or altered" in p for p in problems)
    assert not any(b in p for p in problems)
    assert big_files_since(Path(tempfile.gettempdir()), start) == []
    assert cf("archive", "verify", b).exit_code == 0  # a sound bundle still verifies


def test_the_caps_hold_while_streaming_when_headers_lie(cf, ws, tmp_path, monkeypatch):
    [a, _] = sealed(cf, tmp_path)
    bombed(ws, a)
    monkeypatch.setattr(archive, "size_problems", lambda zf: [])  # headers taken on trust
    problems = problems_of(cf, a)
    assert any("unpacks to more than" in p and "zeros.pdf" in p for p in problems)


def test_the_total_cap(cf, ws, tmp_path, monkeypatch):
    [a, _] = sealed(cf, tmp_path)
    monkeypatch.setattr(bagzip, "MAX_UNPACKED_BYTES", 1024**2)
    monkeypatch.setattr(bagzip, "RATIO_FLOOR", 1024**2)
    big = bundle(ws, a)
    files = entries(big)
    files[f"{a}/data/events.jsonl"] = os.urandom(3 * 1024**2 // 2)  # listed, so it is read
    rewrite(big, files)
    problems = problems_of(cf, a)
    assert any("unpacks to more than 1 MB in all" in p for p in problems)
    # the same found while streaming, when the headers are not believed
    monkeypatch.setattr(archive, "size_problems", lambda zf: [])
    problems = problems_of(cf, a)
    assert any("unpacks to more than 1 MB in all" in p for p in problems)


def test_tampering_is_still_found_without_a_temporary_folder(cf, ws, tmp_path, no_tempfiles):
    [a, b] = sealed(cf, tmp_path)
    no_tempfiles()
    # a payload file changed, the manifests left alone
    path = bundle(ws, a)
    files = entries(path)
    case_json = f"{a}/data/case.json"
    case = json.loads(files[case_json])
    case["closure"]["summary"] = "改写过的结论"
    files[case_json] = json.dumps(case, ensure_ascii=False).encode()
    rewrite(path, files)
    problems = problems_of(cf, a)
    assert any("data/case.json sha256 validation failed" in p for p in problems)
    assert any("Payload-Oxum validation failed" in p for p in problems)  # its size changed
    # a file dropped from the manifest, and a listed file dropped from the bundle
    path = bundle(ws, b)
    files = entries(path)
    manifest = f"{b}/manifest-sha256.txt"
    lines = files[manifest].decode().splitlines(keepends=True)
    dropped = next(line for line in lines if "events.jsonl" in line)
    files[manifest] = "".join(line for line in lines if line != dropped).encode()
    del files[f"{b}/data/case.json"]
    rewrite(path, files)
    problems = problems_of(cf, b)
    assert any(
        "data/events.jsonl exists in the bundle but is not in the manifest" in p for p in problems
    )
    assert any("data/case.json exists in manifest but was not found" in p for p in problems)
    assert any(
        "manifest-sha256.txt sha256 validation failed" in p for p in problems
    )  # tag manifest


def test_a_bag_without_its_declaration_or_manifest(cf, ws, tmp_path):
    [a, _] = sealed(cf, tmp_path)
    path = bundle(ws, a)
    files = entries(path)
    del files[f"{a}/bagit.txt"]
    del files[f"{a}/manifest-sha256.txt"]
    rewrite(path, files)
    problems = problems_of(cf, a)
    assert any("not a valid bag: bagit.txt is missing" in p for p in problems)
    assert any("not a valid bag: manifest-sha256.txt is missing" in p for p in problems)


def test_extract_of_a_bomb_writes_nothing(cf, ws, tmp_path):
    [a, _] = sealed(cf, tmp_path)
    bombed(ws, a)
    target = tmp_path / "out"
    result = cf("archive", "extract", a, "--to", str(target))
    assert result.exit_code == 1
    assert "unpacks to more than" in result.stderr and "nothing extracted" in result.stderr
    assert not target.exists()


def test_extract_removes_what_it_wrote_when_a_cap_is_passed_while_unpacking(
    cf, ws, tmp_path, monkeypatch
):
    [a, _] = sealed(cf, tmp_path)
    bombed(ws, a)
    monkeypatch.setattr(archive, "size_problems", lambda zf: [])  # headers taken on trust
    target = tmp_path / "existing"
    target.mkdir()
    (target / "mine.txt").write_text("kept")
    result = cf("archive", "extract", a, "--to", str(target))
    assert result.exit_code == 1 and "unpacks to more than" in result.stderr
    assert sorted(p.name for p in target.rglob("*")) == ["mine.txt"]


@pytest.mark.parametrize(
    "content",
    [b"", b"just some text\n", b"PK\x03\x04truncated", b"PK\x05\x06" + bytes(18)],
    ids=["empty", "text", "truncated", "empty-zip"],
)
@pytest.mark.parametrize("name", ["bundle.zip", "notes.txt"])
def test_show_of_a_file_that_is_no_bundle(cf, ws, tmp_path, content, name):
    path = tmp_path / name
    path.write_bytes(content)
    result = cf("archive", "show", str(path))
    if content == b"PK\x05\x06" + bytes(18):  # a valid zip with no entries
        assert result.exit_code == 0, result.stderr
        return
    assert result.exit_code == 1
    assert "internal error" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not a readable zip" in result.stderr and name in result.stderr


def test_show_and_verify_of_a_truncated_bundle(cf, ws, tmp_path):
    [a, _] = sealed(cf, tmp_path)
    path = bundle(ws, a)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    result = cf("archive", "show", a)
    assert result.exit_code == 1 and "internal error" not in result.stderr
    assert "not a readable zip" in result.stderr
    problems = problems_of(cf, a)
    assert any("not a readable zip" in p for p in problems)


def test_verify_of_a_folder_named_like_a_bundle(cf, ws, tmp_path):
    [a, _] = sealed(cf, tmp_path)
    path = bundle(ws, a)
    path.unlink()
    path.mkdir()
    problems = problems_of(cf, a)
    assert any("not a readable zip" in p for p in problems)


def test_the_bomb_is_named_in_chinese(cf, ws, tmp_path):
    [a, _] = sealed(cf, tmp_path)
    bombed(ws, a)
    result = cf("archive", "verify", a, env={"COMPLAINTFORMS_LANG": "zh-CN"})
    assert result.exit_code == 1
    assert "解压后超过" in result.stdout
