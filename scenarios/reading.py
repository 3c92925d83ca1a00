"""The one reading layer: every file microplan opens goes through here, with limits (README "Limits").

What it guards against, and how:

- special files and endless streams (a FIFO, `/dev/zero`, `/dev/urandom`, a symlink to one):
  only regular files are opened, without blocking, and at most `MAX_FILE_BYTES` bytes are read —
  counted as they arrive, not taken from the size the file system reports;
- encodings: UTF-8 with or without a BOM, UTF-16 with a BOM, GBK / GB18030 (what Chinese Windows
  tools save); anything else is refused with the encoding to save in;
- YAML alias bombs, deep nesting and huge documents: the event stream is scanned before
  anything is built (`MAX_YAML_ALIASES`, `MAX_NESTING_DEPTH`, `MAX_NODES` counted with every
  alias expanded); JSON nesting is bounded the same way;
- duplicate keys in YAML and JSON (the last one would silently win) and JSON's `NaN` /
  `Infinity`, which are not JSON;
- branch tables: at most `MAX_TABLE_ROWS` rows and `MAX_TABLE_COLUMNS` columns; blank rows
  skipped; a CSV row with more or fewer fields than the header is an error naming the row; an
  XLSX whose zip members would inflate beyond `MAX_XLSX_UNCOMPRESSED_BYTES` (the sizes the zip
  declares, which `zipfile` then enforces) is refused before it is parsed.

Every refusal is a `ScenarioError` whose one line names the file and the limit.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scenarios.errors import Problem, ScenarioError

MIB = 1024 * 1024
#: Largest scenario or branch-table file, bytes actually read (a 50,000-branch JSON is ~19 MB).
MAX_FILE_BYTES = 50 * MIB
#: Most branch rows in a table (the same as the schema's most branches).
MAX_TABLE_ROWS = 50_000
#: Most columns of a branch table (it has 15).
MAX_TABLE_COLUMNS = 100
#: Most rows scanned in an XLSX sheet, blank ones included (four times the most branch rows).
MAX_SHEET_ROWS = 200_000
#: Largest total of an XLSX's members once inflated (a 50,000-branch workbook is ~24 MB).
MAX_XLSX_UNCOMPRESSED_BYTES = 64 * MIB
#: Most members of an XLSX zip (a plain workbook has about ten).
MAX_XLSX_MEMBERS = 1_000
#: Most YAML aliases (`*name`) in a document (scenarios need none).
MAX_YAML_ALIASES = 100
#: Deepest nesting of mappings and lists (a scenario needs 5).
MAX_NESTING_DEPTH = 32
#: Most values in a document with every alias expanded (a 50,000-branch scenario has ~1.6 M).
MAX_NODES = 4_000_000
#: Largest single CSV field, characters.
MAX_CSV_FIELD_CHARS = 10_000

LIMITS_HINT = "see README 'Limits'"


def refuse(label: str, message: str, path: str = "") -> ScenarioError:
    """A one-problem `ScenarioError` for file `label`."""
    return ScenarioError([Problem(label, path, message)])


# ---------------------------------------------------------------- bytes


def read_bytes(path: Path, label: str, limit: int = MAX_FILE_BYTES, where: str = "") -> bytes:
    """The bytes of a regular file, at most `limit` of them counted as read; special files refused."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise refuse(label, "file not found", where) from None
    except (OSError, ValueError) as exc:
        raise refuse(label, f"cannot be read: {getattr(exc, 'strerror', None) or exc}", where) from None
    if stat.S_ISDIR(info.st_mode):
        raise refuse(label, "is a directory, not a file", where)
    if not stat.S_ISREG(info.st_mode):
        raise refuse(label, f"is not a regular file ({file_kind(info.st_mode)}); save the data to a file", where)
    if info.st_size > limit:
        raise refuse(label, f"file too large: {info.st_size} bytes, at most {limit} ({LIMITS_HINT})", where)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise refuse(label, f"cannot be read: {exc.strerror}", where) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped for a special file since the stat
            raise refuse(label, "is not a regular file; save the data to a file", where)
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(MIB, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise refuse(label, f"file too large: more than {limit} bytes read ({LIMITS_HINT})", where)
    except OSError as exc:
        raise refuse(label, f"cannot be read: {exc.strerror}", where) from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def file_kind(mode: int) -> str:
    """'a FIFO', 'a character device' … for an error message."""
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a special file"


# ---------------------------------------------------------------- text


def decode_text(data: bytes, label: str, where: str = "") -> str:
    """Text from bytes: UTF-8 (BOM or not), UTF-16 with a BOM, else GB18030 (a superset of GBK)."""
    if data.startswith(codecs.BOM_UTF8):
        return _decode(data[len(codecs.BOM_UTF8):], "utf-8", label, where)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _decode(data, "utf-16", label, where)
        if "\x00" in text:
            raise refuse(label, "not text: contains NUL characters; save the file as UTF-8", where)
        return text
    if b"\x00" in data:
        raise refuse(label, "not UTF-8 text: contains NUL bytes (UTF-16 without a BOM, or a binary file); "
                            "save the file as UTF-8", where)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        pass
    raise refuse(label, f"not UTF-8, UTF-16 (with a BOM) or GBK/GB18030 text: byte 0x{data[utf8_error.start]:02x} "
                        f"at offset {utf8_error.start} is invalid; save the file as UTF-8", where)


def _decode(data: bytes, encoding: str, label: str, where: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise refuse(label, f"not UTF-8 text: the file starts with a {encoding.upper()} byte-order mark but "
                            f"byte {exc.start} is invalid {encoding.upper()} ({exc.reason}); save the file as UTF-8",
                     where) from None


# ---------------------------------------------------------------- YAML and JSON


def parse_document(text: str, label: str, *, as_json: bool) -> Any:
    """Parse YAML or JSON text within the limits; duplicate keys and NaN literals are errors."""
    return parse_json(text, label) if as_json else parse_yaml(text, label)


def parse_json(text: str, label: str) -> Any:
    """JSON with duplicate keys, NaN / Infinity and nesting beyond `MAX_NESTING_DEPTH` refused."""
    try:
        data = json.loads(text, object_pairs_hook=lambda pairs: _json_object(pairs, label),
                          parse_constant=lambda name: _json_constant(name, label))
    except json.JSONDecodeError as exc:
        raise refuse(label, f"JSON syntax error: {exc.msg}", f"line {exc.lineno}") from None
    except RecursionError:
        raise refuse(label, f"nested deeper than {MAX_NESTING_DEPTH} levels ({LIMITS_HINT})") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise refuse(label, f"JSON value cannot be read: {str(exc).splitlines()[0]}") from None
    check_depth(data, label)
    return data


def _json_object(pairs: list[tuple[str, Any]], label: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise refuse(label, f"duplicate key {key!r} in one JSON object (the last would silently win); keep one")
        seen[key] = value
    return seen


def _json_constant(name: str, label: str) -> Any:
    raise refuse(label, f"{name} is not a JSON number; write a finite number or null")


def check_depth(data: Any, label: str) -> None:
    """Refuse data nested deeper than `MAX_NESTING_DEPTH` (walked without recursion)."""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > MAX_NESTING_DEPTH:
                raise refuse(label, f"nested deeper than {MAX_NESTING_DEPTH} levels ({LIMITS_HINT})")
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UniqueKeyLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """PyYAML's safe loader (libyaml when present) refusing duplicate keys in a mapping."""

    label = "<yaml>"

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue  # PyYAML reports an unhashable key itself
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise refuse(self.label, f"duplicate key {key!r} (first on line {first_line[key]}; "
                                         f"the last would silently win); keep one", f"line {line}")
            first_line[key] = line
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, label: str) -> Any:
    """YAML after an event scan for aliases, depth and size (`scan_yaml_events`); duplicate keys refused."""
    try:
        scan_yaml_events(text, label)
        loader = UniqueKeyLoader(text)
        loader.label = label
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"line {mark.line + 1}" if mark else ""
        if "nesting depth" in str(exc.problem):  # libyaml's own guard, far beyond ours
            raise refuse(label, f"nested deeper than {MAX_NESTING_DEPTH} levels ({LIMITS_HINT})", line) from None
        raise refuse(label, f"YAML syntax error: {exc.problem or exc.context}", line) from None
    except yaml.YAMLError as exc:
        raise refuse(label, f"YAML error: {str(exc).splitlines()[0]}") from None
    except (ValueError, OverflowError) as exc:  # e.g. an integer of more than 4,300 digits
        raise refuse(label, f"YAML value cannot be read: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise refuse(label, f"nested deeper than {MAX_NESTING_DEPTH} levels ({LIMITS_HINT})") from None


def scan_yaml_events(text: str, label: str) -> None:
    """Count depth, aliases and expanded values from the parser's events, before anything is built.

    The parser keeps a stack, not a recursion, so even a million `[` cost only time; an alias
    counts as every value of the node it names, so `MAX_NODES` bounds the expanded document
    (a billion-laughs bomb stops at its first levels).
    """
    depth = aliases = nodes = 0
    sizes: dict[str, int] = {}
    open_anchors: list[tuple[str | None, int]] = []
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_YAML_ALIASES:
                raise refuse(label, f"more than {MAX_YAML_ALIASES} YAML aliases ({LIMITS_HINT})",
                             f"line {event.start_mark.line + 1}")
            nodes += sizes.get(event.anchor, 1)
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
            if event.anchor:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.CollectionStartEvent):
            nodes += 1
            depth += 1
            if depth > MAX_NESTING_DEPTH:
                raise refuse(label, f"nested deeper than {MAX_NESTING_DEPTH} levels ({LIMITS_HINT})",
                             f"line {event.start_mark.line + 1}")
            open_anchors.append((event.anchor, nodes))
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
            anchor, start = open_anchors.pop()
            if anchor:
                sizes[anchor] = nodes - start + 1
        if nodes > MAX_NODES:
            raise refuse(label, f"more than {MAX_NODES} values with aliases expanded ({LIMITS_HINT})")


# ---------------------------------------------------------------- branch tables


@dataclass
class Table:
    """Rows of a branch table as mappings of column → value (None for an empty cell)."""

    label: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)  # the file's row number of each row (header = 1)


#: Columns whose cells are text even when a spreadsheet stored a number (`101` → "101").
TEXT_COLUMNS = ("id", "name")


def read_table(path: Path, label: str) -> Table:
    """A CSV or XLSX branch table within the limits; blank rows skipped."""
    data = read_bytes(path, label, where="branches")
    if path.suffix.lower() == ".csv":
        return read_csv_table(decode_text(data, label, "branches"), label)
    return read_xlsx_table(data, label)


def read_csv_table(text: str, label: str) -> Table:
    """CSV rows; a row with more or fewer fields than the header is an error naming the row."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    csv.field_size_limit(MAX_CSV_FIELD_CHARS)
    table = Table(label)
    header: list[str] | None = None
    problems: list[Problem] = []
    try:
        for fields in reader:
            if not any(f.strip() for f in fields):
                continue
            if header is None:
                header = _header(fields, label)
                continue
            row_number = reader.line_num
            if len(fields) > len(header) and not any(f.strip() for f in fields[len(header):]):
                fields = fields[: len(header)]  # trailing empty fields (a spreadsheet's extra commas)
            if len(fields) != len(header):
                more = "more" if len(fields) > len(header) else "fewer"
                problems.append(Problem(f"{label} row {row_number}", "branches",
                                        f"{len(fields)} fields, {more} than the header's {len(header)} "
                                        "(a stray comma or quote shifts every column)"))
                continue
            _add_row(table, dict(zip(header, fields)), row_number)
    except csv.Error as exc:
        raise refuse(f"{label} row {reader.line_num}", f"CSV syntax error: {exc}", "branches") from None
    if problems:
        raise ScenarioError(problems)
    return table


def open_workbook(data: bytes, label: str, where: str = "") -> Any:
    """A read-only openpyxl workbook (cached values, not formulas) from bytes `read_bytes` returned,
    after `check_xlsx_zip`; the caller closes it. Iterate a sheet after `sheet.reset_dimensions()`
    and with a `max_col`, so that a forged <dimension> cannot widen every row."""
    import openpyxl  # deferred: only needed for workbooks

    check_xlsx_zip(data, label, where)
    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 — openpyxl and zipfile raise many types for a broken workbook
        raise refuse(label, f"not a readable .xlsx table: {type(exc).__name__}", where) from None


def read_xlsx_table(data: bytes, label: str) -> Table:
    """The first sheet's rows, after checking the zip's declared sizes (`check_xlsx_zip`)."""
    book = open_workbook(data, label, "branches")
    table = Table(label)
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # a forged <dimension> must not make every row 16,384 cells wide
        header: list[str] | None = None
        problems: list[Problem] = []
        for number, cells in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_TABLE_COLUMNS), start=1):
            if number > MAX_SHEET_ROWS:
                raise refuse(label, f"more than {MAX_SHEET_ROWS} rows in the sheet ({LIMITS_HINT})", "branches")
            values = [None if (isinstance(v, str) and not v.strip()) else v for v in cells]
            if all(v is None for v in values):
                continue
            if header is None:
                header = _header(["" if v is None else str(v) for v in values], label)
                continue
            extra = [v for v in values[len(header):] if v is not None]
            if extra:
                problems.append(Problem(f"{label} row {number}", "branches",
                                        "a value in a column without a header", extra[0], True))
                continue
            _add_row(table, dict(zip(header, values + [None] * (len(header) - len(values)))), number)
        if problems:
            raise ScenarioError(problems)
    except ScenarioError:
        raise
    except Exception as exc:  # noqa: BLE001 — a sheet that parses badly midway
        raise refuse(label, f"not a readable .xlsx table: {type(exc).__name__}", "branches") from None
    finally:
        book.close()
    return table


def check_xlsx_zip(data: bytes, label: str, where: str = "branches") -> None:
    """Refuse a workbook whose zip has too many members or would inflate past the limit."""
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise refuse(label, "not a readable .xlsx table: not a zip archive", where) from None
    if len(members) > MAX_XLSX_MEMBERS:
        raise refuse(label, f"more than {MAX_XLSX_MEMBERS} parts in the workbook ({LIMITS_HINT})", where)
    inflated = sum(m.file_size for m in members)
    if inflated > MAX_XLSX_UNCOMPRESSED_BYTES:
        raise refuse(label, f"workbook inflates to {inflated} bytes, at most {MAX_XLSX_UNCOMPRESSED_BYTES} "
                            f"({LIMITS_HINT})", where)


def _header(cells: list[str], label: str) -> list[str]:
    names = [c.strip() for c in cells]
    while names and not names[-1]:
        names.pop()
    if len(names) > MAX_TABLE_COLUMNS:
        raise refuse(label, f"more than {MAX_TABLE_COLUMNS} columns ({LIMITS_HINT})", "branches")
    seen = set()
    for name in names:
        if name in seen:
            raise refuse(label, f"column {name!r} appears twice in the header", "branches")
        seen.add(name)
    if "" in names:
        raise refuse(label, f"column {names.index('') + 1} of the header has no name", "branches")
    return names


def _add_row(table: Table, row: dict[str, Any], number: int) -> None:
    if len(table.rows) >= MAX_TABLE_ROWS:
        raise refuse(table.label, f"more than {MAX_TABLE_ROWS} branch rows ({LIMITS_HINT})", "branches")
    table.rows.append({name: _cell(name, value) for name, value in row.items()})
    table.row_numbers.append(number)


def _cell(column: str, value: Any) -> Any:
    """An empty cell is None; ids and names are text even where a spreadsheet stored a number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if column in TEXT_COLUMNS and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value
