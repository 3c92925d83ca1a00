"""The one place that turns what went wrong into a line on stderr and an exit code (README "Exit codes").

| code | meaning |
|---|---|
| 0 | done, every rule met |
| 1 | a plan was produced but some rule could not be met |
| 2 | bad input or usage: a scenario problem, a limit, an option, an unusable `--out` target |
| 3 | a bug: `microplan: internal error: …` (please report it) |
| 4 | the output could not be written completely (disk full, file-size limit, stdout closed); nothing partial is left |
| 129 / 130 / 143 | stopped by SIGHUP (terminal closed) / SIGINT (Ctrl-C) / SIGTERM; workers stopped, nothing partial is left |

Every failure prints one line per problem and never a traceback. SIGTERM and SIGHUP are turned
into an `Interrupted` exception like Ctrl-C, so `finally` blocks run: worker processes are
stopped and half-written temporary files removed.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

from scenarios import ScenarioError
from scenarios.text import printable

EXIT_OK, EXIT_RELAXED, EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OUTPUT = 0, 1, 2, 3, 4
#: Exit code of a run stopped by signal n: 128 + n (SIGHUP 129, SIGINT 130, SIGTERM 143).
EXIT_SIGNAL_BASE = 128
#: Signals that stop a run cleanly.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class BadInput(Exception):
    """Bad input or usage (exit 2): `lines` are the problems, one per line."""

    def __init__(self, lines: Iterable[object]) -> None:
        self.lines = [str(line) for line in lines]
        super().__init__("; ".join(self.lines))


class OutputFailed(Exception):
    """The output could not be written completely (exit 4); nothing partial was left behind."""


class Interrupted(BaseException):
    """A stop signal arrived (a BaseException, like KeyboardInterrupt, so `except Exception` lets it pass)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


def _raise_interrupted(signum: int, frame: Any) -> None:
    raise Interrupted(signum)


def install_signal_handlers() -> None:
    """SIGINT, SIGTERM and SIGHUP raise `Interrupted` in the main thread (only there can handlers be set)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    for signum in STOP_SIGNALS:
        signal.signal(signum, _raise_interrupted)


def say(line: str) -> None:
    """Print one line on stderr; a closed terminal is not an error worth a second one."""
    try:
        print(printable(line.replace("\n", " ")), file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush cannot fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # stdout is not a real file (tests capture it)


def exit_code(exc: BaseException) -> int:
    """Print what `exc` means in one line per problem and return the exit code (see the table above)."""
    kinds = {cls.__name__ for cls in type(exc).__mro__}  # click's and typer's own copy of click alike
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_BAD_INPUT)
    if isinstance(exc, Interrupted):
        say(f"microplan: stopped by {exc.name}; nothing half-written is left")
        return EXIT_SIGNAL_BASE + exc.signum
    if isinstance(exc, KeyboardInterrupt) or ("Abort" in kinds and isinstance(exc.__context__, KeyboardInterrupt)):
        say("microplan: stopped by SIGINT; nothing half-written is left")
        return EXIT_SIGNAL_BASE + signal.SIGINT
    if "Exit" in kinds and hasattr(exc, "exit_code"):
        return int(exc.exit_code)
    if "NoArgsIsHelpError" in kinds:
        say_block(exc.format_message())  # type: ignore[attr-defined]
        return EXIT_BAD_INPUT
    if "UsageError" in kinds:
        ctx = getattr(exc, "ctx", None)
        command = ctx.command_path if ctx is not None else "microplan"
        message = exc.format_message().replace("Value error, ", "")  # type: ignore[attr-defined]
        say(f"{command}: {message} (see {command} --help)")
        return EXIT_BAD_INPUT
    if "ClickException" in kinds:
        say(f"microplan: {exc.format_message()}")  # type: ignore[attr-defined]
        return EXIT_BAD_INPUT
    if "Abort" in kinds:
        say("microplan: aborted")
        return EXIT_BAD_INPUT
    if isinstance(exc, ScenarioError):
        for problem in exc.problems:
            say(str(problem))
        return EXIT_BAD_INPUT
    if isinstance(exc, BadInput):
        for line in exc.lines:
            say(line)
        return EXIT_BAD_INPUT
    if isinstance(exc, OutputFailed):
        say(f"microplan: {exc}")
        return EXIT_OUTPUT
    if isinstance(exc, BrokenPipeError):
        silence_stdout()
        say("microplan: stdout was closed before the output was complete (broken pipe)")
        return EXIT_OUTPUT
    if isinstance(exc, MemoryError):
        say("microplan: internal error: ran out of memory (please report this with the input)")
        return EXIT_INTERNAL
    say(f"microplan: internal error: {type(exc).__name__}: {exc} (please report this)")
    return EXIT_INTERNAL


def say_block(text: str) -> None:
    """Print help text (several lines, on purpose) on stderr."""
    try:
        print(text, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def ignore_unraisable(unraisable: Any) -> None:
    """sys.unraisablehook for the console script: an error in a finaliser at exit (a half-built
    Dask client's `__del__`) is not the planner's to read, and never a traceback."""


def run(command: Callable[..., Any]) -> NoReturn:
    """Run a click / typer command outside click's standalone mode, so every error comes here."""
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    install_signal_handlers()
    try:
        code = command(standalone_mode=False)
    except BaseException as exc:  # noqa: BLE001 — the last line of defence: no traceback reaches a planner
        code = exit_code(exc)
    finally:
        restore_signal_handlers(previous)
    raise SystemExit(code if isinstance(code, int) else EXIT_OK)


def restore_signal_handlers(previous: dict[int, Any]) -> None:
    """Put back the handlers `run` replaced (the CLI may run inside a longer-lived process, e.g. tests)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    for signum, handler in previous.items():
        signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
