"""Finding the case of a customer who calls (issue 13, DESIGN.md section 13): `case list
--phone --name --month --category --text`, combined with the other filters, and the TinyDB
store's lookup index behind it (kept with the cases, checked, built for older workspaces)."""

from __future__ import annotations

import json

import pytest

from .test_register import FULL_CASE, new_case

ZH = {"COMPLAINTFORMS_LANG": "zh-CN"}


def caller(name: str | None, phone: str | None, **more) -> dict:
    anonymous = {"anonymous": True} if name is None else {}
    return {
        **FULL_CASE,
        "complainant": {"name": name, "phone": phone, **anonymous},
        **more,
    }


def numbers(cf, *args: str) -> list[str]:
    return [c["case_no"] for c in cf.json("case", "list", *args)]


def office(cf) -> dict[str, str]:
    """Four callers over two months; one confidential, one anonymous."""
    made = {
        "wang": new_case(cf, caller("王小明", "138 1234 5678", content="刹车异响 Brake noise")),
        "wang_oct": new_case(
            cf,
            caller(
                "王小明",
                "+86 13812345678",
                received_at="2026-10-20T10:00:00+08:00",
                category="维修质量",
            ),
        ),
        "li": new_case(
            cf,
            {
                **caller("李雷", "0571-8888 6666", demand="退还维修费"),
                "complainant": {"name": "李雷", "phone": "0571-8888 6666", "confidential": True},
            },
        ),
        "anon": new_case(cf, caller(None, "13900001111")),
    }
    return {key: case["case_no"] for key, case in made.items()}


def test_a_caller_is_found_by_the_number_however_it_is_typed(cf):
    made = office(cf)
    both = [made["wang_oct"], made["wang"]]  # oldest month first
    for typed in ("13812345678", "138 1234 5678", "+86 138-1234-5678", "5678", "12345678"):
        assert numbers(cf, "--phone", typed) == both, typed
    assert numbers(cf, "--phone", "88886666") == [made["li"]]  # confidential: still found
    assert numbers(cf, "--phone", "1111") == [made["anon"]]  # anonymous: found by the number
    assert numbers(cf, "--phone", "13812345670") == []


def test_a_number_of_fewer_than_four_digits_is_refused_naming_the_option(cf, ws):
    office(cf)
    for typed in ("678", "+86", "abc"):
        result = cf("case", "list", "--phone", typed)
        assert result.exit_code == 1
        line = result.stderr.strip()
        assert "\n" not in line and line.startswith("complaintforms: --phone:"), line
        assert "last 4 digits" in line
    zh = cf("case", "list", "--phone", "678", env=ZH).stderr
    assert "--phone" in zh and "后 4 位" in zh


def test_by_name_month_category_and_text(cf):
    made = office(cf)
    assert numbers(cf, "--name", "小明") == [made["wang_oct"], made["wang"]]
    assert numbers(cf, "--name", "李") == [made["li"]]
    assert numbers(cf, "--month", "2026-10") == [made["wang_oct"]]
    assert numbers(cf, "--month", "2026年11月") == [made["wang"], made["li"], made["anon"]]
    assert numbers(cf, "--category", "维修质量") == [made["wang_oct"]]
    assert numbers(cf, "--text", "brake") == [made["wang"]]  # Latin in any case
    assert numbers(cf, "--text", "退还") == [made["li"]]  # the demand


def test_the_filters_combine(cf):
    made = office(cf)
    assert numbers(cf, "--phone", "5678", "--month", "2026-11") == [made["wang"]]
    assert numbers(cf, "--name", "王", "--category", "维修质量") == [made["wang_oct"]]
    assert numbers(cf, "--phone", "5678", "--text", "刹车") == [made["wang"]]
    assert numbers(cf, "--phone", "5678", "--name", "李") == []
    assert numbers(cf, "--phone", "5678", "--quarter", "2026Q4", "--month", "2026-10") == [
        made["wang_oct"]
    ]
    assert numbers(cf, "--month", "2026-10", "--quarter", "2026Q3") == []
    cf.json("case", "accept", made["wang"], "--department", "SVC", "--by", "吴芳")
    assert numbers(cf, "--phone", "5678", "--status", "assigned") == [made["wang"]]
    # Routed to SVC, or about a staff member of SVC (李明): both of 王小明's cases.
    assert numbers(cf, "--phone", "5678", "--department", "SVC") == [made["wang_oct"], made["wang"]]
    assert numbers(cf, "--phone", "5678", "--department", "FIN") == []
    overdue = set(numbers(cf, "--overdue"))
    assert numbers(cf, "--phone", "5678", "--overdue") == [
        n for n in numbers(cf, "--phone", "5678") if n in overdue
    ]


def test_a_findings_or_closing_text_is_searched_too(cf):
    made = office(cf)
    case_no = made["wang"]
    cf.json(
        "case", "accept", case_no, "--department", "SVC", "--by", "吴芳", "--at", "2026-11-16 10:00"
    )
    cf.json(
        "slip",
        "return",
        case_no,
        "--findings",
        "刹车片型号装错",
        "--plan",
        "更换",
        "--approved-by",
        "王强",
        "--result",
        "已免费更换 OEM parts",
        "--customer-signed",
        "--by",
        "李明",
        "--at",
        "2026-11-18T16:00:00+08:00",
    )
    assert numbers(cf, "--text", "型号装错") == [case_no]
    assert numbers(cf, "--text", "oem") == [case_no]


def test_unknown_category_and_bad_month_are_refused_in_one_line(cf):
    office(cf)
    result = cf("case", "list", "--category", "天气")
    line = result.stderr.strip()
    assert result.exit_code == 1 and "\n" not in line
    assert line.startswith("complaintforms: --category: unknown category '天气'")
    assert "服务态度" in line and "维修质量" in line  # the known ones
    month = cf("case", "list", "--month", "2026-13")
    assert month.exit_code == 1 and month.stderr.startswith("complaintforms: --month:")
    empty = cf("case", "list", "--name", "  ")
    assert empty.exit_code == 1 and empty.stderr.startswith("complaintforms: --name:")


def test_the_listing_names_the_complainant_and_the_help_is_translated(cf):
    made = office(cf)
    text = cf("case", "list", "--phone", "5678", env=ZH).stdout
    assert made["wang"] in text and "王小明" in text
    assert "（匿名）" in cf("case", "list", "--phone", "1111", env=ZH).stdout
    help_zh = cf("case", "list", "--help", env=ZH).stdout
    assert "--phone" in help_zh and "后 4 位" in help_zh and "投诉人姓名" in help_zh


# -- the TinyDB store's lookup index -------------------------------------------------------------
@pytest.mark.tinydb_files
def test_the_index_is_kept_in_shards_of_the_last_four_digits(cf, ws):
    from complaintforms.storage.tinydb import lookup_rel

    made = office(cf)
    shard = json.loads((ws.records_dir / lookup_rel("phone", "13812345678")).read_text())
    assert shard["13812345678"] == sorted([made["wang"], made["wang_oct"]])
    assert lookup_rel("phone", "13812345678") == lookup_rel("phone", "5678")
    names = json.loads((ws.records_dir / lookup_rel("name", "李雷")).read_text())
    assert names["李雷"] == [made["li"]]
    assert ws.store.check()[0] == []


@pytest.mark.tinydb_files
def test_a_lookup_reads_one_phone_shard_and_only_the_months_it_found(cf, ws, monkeypatch):
    from complaintforms.storage.tinydb import TinyDBStore, lookup_rel

    made = office(cf)
    read: list[str] = []
    partitions: list[str] = []
    original_json, original_partition = TinyDBStore._read_json, TinyDBStore._partition

    def spy_json(self, rel):
        read.append(rel)
        return original_json(self, rel)

    def spy_partition(self, key, collection="cases"):
        partitions.append(key)
        return original_partition(self, key, collection)

    monkeypatch.setattr(TinyDBStore, "_read_json", spy_json)
    monkeypatch.setattr(TinyDBStore, "_partition", spy_partition)
    assert [c["case_no"] for c in ws.store.find_cases(phone="88886666")] == [made["li"]]
    assert [r for r in read if r.startswith("index/phone-")] == [lookup_rel("phone", "6666")]
    assert not [r for r in read if r.startswith("index/name-")]
    assert partitions == ["2026-11"]


@pytest.mark.tinydb_files
def test_a_damaged_lookup_index_is_reported_by_check_and_doctor(cf, ws):
    from complaintforms.services.doctor import check_database
    from complaintforms.storage.tinydb import lookup_rel

    made = office(cf)
    path = ws.records_dir / lookup_rel("phone", "13812345678")
    shard = json.loads(path.read_text())
    shard["13812345678"] = [made["wang"]]  # one case dropped from its number
    path.write_text(json.dumps(shard))
    problems, _summary = ws.store.check()
    assert problems and "lookup index" in problems[0] and made["wang_oct"] in problems[0]
    assert not check_database(ws).ok
    zh = cf("doctor", env=ZH).stdout
    assert "查询索引" in zh


@pytest.mark.tinydb_files
def test_a_workspace_made_before_the_index_is_found_by_reading_and_indexed_by_its_next_write(
    cf, ws
):
    made = office(cf)
    index_path = ws.records_dir / "index.json"
    index = json.loads(index_path.read_text())
    del index["lookup"]
    index_path.write_text(json.dumps(index))
    for rel in ws.records_dir.glob("index/phone-*.json"):
        rel.unlink()
    assert numbers(cf, "--phone", "5678") == [made["wang_oct"], made["wang"]]  # by reading
    assert ws.store.check()[0] == []  # not built yet is no problem
    new_case(cf, caller("赵敏", "13600000000"))  # the next write builds it
    assert json.loads(index_path.read_text())["lookup"] == 1
    assert sorted(p.name for p in ws.records_dir.glob("index/phone-*.json"))
    assert numbers(cf, "--phone", "5678") == [made["wang_oct"], made["wang"]]
    assert len(numbers(cf, "--phone", "0000")) == 1
    assert ws.store.check()[0] == []


@pytest.mark.tinydb_files
def test_a_key_in_the_wrong_shard_is_reported(cf, ws):
    from complaintforms.storage.tinydb import lookup_rel

    made = office(cf)
    right = ws.records_dir / lookup_rel("phone", "88886666")
    wrong = ws.records_dir / lookup_rel("phone", "5679")
    entries = json.loads(right.read_text())
    moved = {"057188886666": entries.pop("057188886666")}
    right.write_text(json.dumps(entries))
    assert not wrong.exists()
    wrong.write_text(json.dumps(moved))
    assert [c["case_no"] for c in ws.store.find_cases(phone="88886666")] == []  # not looked for
    problems, _summary = ws.store.check()
    assert any("wrong shard" in p and "057188886666" in p for p in problems), problems
    assert made["li"] not in [c["case_no"] for c in ws.store.find_cases(phone="6666")]
