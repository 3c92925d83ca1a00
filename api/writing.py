"""The one writing layer: every export goes through here (README "Limits", "Exit codes").

- **Nothing half-written.** A file is written to a temporary file in the target's own folder,
  flushed to disk and renamed over the target only when complete (`write_file`); on any failure
  — disk full, file-size limit, Ctrl-C — the temporary file is removed and the target is left as
  it was. The target must be a regular file (a FIFO or a device would block or be replaced) and
  not one of the command's own input files.
- **No live formulas, links or DDE calls from input text** (OWASP, "CSV Injection"): a text
  cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return (or their full-width forms)
  gets a leading `'` in CSV (`neutralise`). Workbooks are written with xlsxwriter's
  `write_string` for every text cell and with formula / URL / number conversion switched off,
  so a text cell is text; risky ones also carry Excel's quote prefix, which keeps them text
  when a reader edits the cell.
- **stdout failures** (closed pipe, full disk behind a redirect) become `OutputFailed` (exit 4).
"""

from __future__ import annotations

import csv
import errno
import io
import math
import os
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.errors import BadInput, OutputFailed, silence_stdout
from scenarios.reading import file_kind

if TYPE_CHECKING:  # pandas is imported where a table is written: `microplan validate` starts faster
    import pandas as pd

#: First characters that make a spreadsheet read a cell as a formula (OWASP), with full-width forms.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n＝＋－＠")
#: xlsxwriter options: text stays text (no formulas, hyperlinks or numbers made from strings);
#: the workbook is assembled in memory, so a full temporary folder cannot break an export.
XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
                "in_memory": True, "nan_inf_to_errors": True}
#: errno values that mean the target itself is unusable (bad input, exit 2); others are write failures (exit 4).
TARGET_ERRNOS = frozenset({errno.EPERM, errno.ENOENT, errno.EACCES, errno.ENOTDIR, errno.EISDIR, errno.EROFS,
                           errno.ENAMETOOLONG, errno.ELOOP})


# ---------------------------------------------------------------- cells


def neutralise(text: str) -> str:
    """'=1+1' → "'=1+1": text whose first non-blank character is a formula trigger gets a leading quote."""
    stripped = text.lstrip(" ")
    return "'" + text if stripped[:1] in FORMULA_TRIGGERS else text


def is_risky(text: str) -> bool:
    """Whether a spreadsheet could read `text` as a formula (see `neutralise`)."""
    return text.lstrip(" ")[:1] in FORMULA_TRIGGERS


def csv_text(frame: pd.DataFrame, *, index: bool = False) -> str:
    """`frame` as CSV with every text cell (and header) neutralised; numbers stay numbers."""
    import pandas as pd

    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(lambda v: neutralise(v) if isinstance(v, str) else v)
    safe.columns = [neutralise(str(c)) for c in safe.columns]
    if index:
        safe.index = [neutralise(v) if isinstance(v, str) else v for v in safe.index]
        if safe.index.name is None and frame.index.name is not None:
            safe.index.name = neutralise(str(frame.index.name))
    return safe.to_csv(index=index, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")


def new_workbook(buffer: io.BytesIO) -> Any:
    """An xlsxwriter workbook writing into `buffer` with `XLSX_OPTIONS` (text stays text)."""
    import xlsxwriter

    return xlsxwriter.Workbook(buffer, dict(XLSX_OPTIONS))


def write_text(sheet: Any, row: int, col: int, text: str, cell_format: Any = None, *, quoted: Any = None) -> None:
    """One text cell with `write_string` (never a formula or link); risky text gets the quote prefix."""
    sheet.write_string(row, col, text, quoted if quoted is not None and is_risky(text) else cell_format)


def write_cell(sheet: Any, row: int, col: int, value: Any, quoted: Any) -> None:
    """A value as a typed cell: bool, finite number, blank (None / NaN), else text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        sheet.write_blank(row, col, None)
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, (int, float)) and math.isfinite(value):
        sheet.write_number(row, col, value)
    elif hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        write_cell(sheet, row, col, value.item(), quoted)
    else:
        write_text(sheet, row, col, str(value), quoted=quoted)


# ---------------------------------------------------------------- targets


def out_target_problems(out: Path, inputs: Iterable[Path] = ()) -> list[str]:
    """Why `out` cannot be written to (empty if it can): not a regular file, or one of the inputs."""
    label = f"{out}: --out"
    try:
        info = os.stat(out)
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        return [f"{label}: cannot be used ({getattr(exc, 'strerror', None) or exc})"]
    if stat.S_ISDIR(info.st_mode):
        return [f"{label}: is a directory; name a file"]
    if not stat.S_ISREG(info.st_mode):
        return [f"{label}: is not a regular file ({file_kind(info.st_mode)}); name a file"]
    for source in inputs:
        try:
            if os.path.samefile(out, source):
                return [f"{label}: is the input file {source}; writing there would destroy it (choose another name)"]
        except (OSError, ValueError):
            continue
    return []


def write_output(data: str | bytes, out: Path | None, inputs: Iterable[Path] = ()) -> None:
    """Write to `out` atomically (`write_file`) or, for text, to stdout (`write_stdout`)."""
    if out is None:
        if isinstance(data, bytes):
            raise BadInput(["--out: binary output needs a file to write (got no --out)"])
        write_stdout(data)
        return
    problems = out_target_problems(out, inputs)
    if problems:
        raise BadInput(problems)
    write_file(out, data.encode("utf-8") if isinstance(data, str) else data)


def write_file(path: Path, data: bytes) -> None:
    """Temporary file in the same folder, fsync, rename over `path`; on any failure no trace is left."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name[:100]}.", suffix=".part")
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(temporary, _file_mode(path))
        os.replace(temporary, path)
    except BaseException as exc:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise _write_error(path, exc) from None
        raise


def _write_error(path: Path, exc: OSError) -> Exception:
    reason = exc.strerror or type(exc).__name__
    if exc.errno in TARGET_ERRNOS:
        return BadInput([f"{path}: --out: cannot write ({reason})"])
    return OutputFailed(f"{path}: --out: writing failed ({reason}); nothing was written")


def _file_mode(path: Path) -> int:
    """The mode the new file gets: the replaced file's, else 0o666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def write_stdout(text: str) -> None:
    """Write `text` to stdout and flush; a closed pipe or a full disk becomes `OutputFailed`."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
        raise OutputFailed("stdout was closed before the output was complete (broken pipe)") from None
    except OSError as exc:
        silence_stdout()
        raise OutputFailed(f"cannot write to stdout ({exc.strerror or type(exc).__name__})") from None
