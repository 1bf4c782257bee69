"""Start at login: the one module that writes (and removes) the operating system's own "start this program
when I log in" entry for socialdesk. Qt-free; the first-run assistant and Tools → "Start socialdesk when I
log in (in the tray)" call `set_enabled` / `is_enabled` on a worker thread.

Decisions:
- One mechanism per platform, each the platform's documented one, nothing of our own running at login:
  - Linux and other XDG desktops: a desktop entry `$XDG_CONFIG_HOME/autostart/<DESKTOP_ID>.desktop`
    (XDG Autostart Specification; `$XDG_CONFIG_HOME` defaults to `~/.config`, and a relative value is
    ignored as the XDG Base Directory spec says). It validates with desktop-file-validate.
  - Windows: the value "socialdesk" under `HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\
    Run` (REG_SZ, the command line quoted as the C runtime parses it: `subprocess.list2cmdline`).
  - macOS: a LaunchAgent `~/Library/LaunchAgents/<DESKTOP_ID>.plist` (XML property list written by
    plistlib: `Label`, `ProgramArguments`, `RunAtLoad`, `ProcessType` Interactive), loaded by launchd at
    the next login.
- The program starts hidden in the tray: the command ends with `--tray` (cli.py; the window still opens
  when the desktop has no tray, or nothing would show that socialdesk runs). A profile other than the
  default one is passed with `--profile`. There is one entry, for one profile: switching it on for
  another profile points the entry at that one.
- The command is the frozen bundle's executable when socialdesk runs from it, else the `socialdesk`
  script next to the running Python (the one pip installed with this interpreter), else
  `python -m socialdesk`. Absolute paths only: the login session's PATH is not the shell's.
- Only our own entry is ever removed: the desktop entry carries `X-SocialDesk-Autostart=true`, the
  LaunchAgent its Label, the registry value its name; a file of the same name without our marker
  (the owner's own) is left alone and reported as not ours (`AutostartError`).
- Writes are atomic (a temporary file in the same folder, then `os.replace`), so a crash never leaves
  half an entry that the desktop would refuse or run wrongly.
"""

from __future__ import annotations

import os
import plistlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Protocol

from socialdesk import APP_NAME, DESKTOP_ID

TRAY_FLAG = "--tray"
MARKER = "X-SocialDesk-Autostart"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = APP_NAME


class AutostartError(Exception):
    """Start at login could not be switched; `str(e)` is meant for the owner."""


def command(profile: str = "default", *, executable: str | None = None, frozen: bool | None = None) -> list[str]:
    """The command line that starts socialdesk in the tray for `profile` (see the module docstring)."""
    executable = executable or sys.executable
    frozen = getattr(sys, "frozen", False) if frozen is None else frozen
    if frozen:
        argv = [executable]
    else:
        here = Path(executable).parent
        script = next((here / name for name in ("socialdesk", "socialdesk.exe") if (here / name).is_file()), None)
        argv = [str(script)] if script is not None else [executable, "-m", "socialdesk"]
    if profile != "default":
        argv += ["--profile", profile]
    return [*argv, TRAY_FLAG]


class _Target(Protocol):
    @property
    def where(self) -> str: ...

    def read(self) -> list[str] | None: ...

    def write(self, argv: list[str]) -> None: ...

    def remove(self) -> None: ...


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


# --- Linux / XDG --------------------------------------------------------------------------------------

_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def exec_quote(arg: str) -> str:
    """One argument of a desktop entry's Exec key, quoted as the Desktop Entry Specification says: inside
    double quotes, `"`, backtick, `$` and `\\` are escaped with a backslash; `%` is doubled (field codes).
    The caller string-escapes the whole value afterwards (`_value_escape`)."""
    if any(ch in arg for ch in "\n\r\x00"):
        raise AutostartError("the program's path contains a line break; it cannot go into a desktop entry")
    arg = arg.replace("%", "%%")
    if arg and not (_RESERVED & set(arg)):
        return arg
    return '"' + "".join("\\" + ch if ch in '"`$\\' else ch for ch in arg) + '"'


def _value_escape(value: str) -> str:
    """The spec's escapes of a string value (\\s \\n \\t \\r \\\\): only the backslash can occur here."""
    return value.replace("\\", "\\\\")


def _exec_unquote(value: str) -> list[str]:
    """The inverse of exec_quote over a whole Exec value (our own entries only)."""
    value = value.replace("\\\\", "\\")
    out: list[str] = []
    current: list[str] = []
    quoted = started = False
    i = 0
    while i < len(value):
        ch = value[i]
        if quoted:
            if ch == "\\" and i + 1 < len(value):
                current.append(value[i + 1])
                i += 2
                continue
            if ch == '"':
                quoted = False
            else:
                current.append(ch)
        elif ch == '"':
            quoted = started = True
        elif ch == " ":
            if started or current:
                out.append("".join(current))
            current, started = [], False
        else:
            current.append(ch)
        i += 1
    if started or current:
        out.append("".join(current))
    return [a.replace("%%", "%") for a in out]


def xdg_config_home(env: Mapping[str, str], home: Path) -> Path:
    value = env.get("XDG_CONFIG_HOME", "")
    # "If $XDG_CONFIG_HOME is either not set or empty, a default equal to $HOME/.config should be used";
    # relative paths are invalid and ignored.
    return Path(value) if value and os.path.isabs(value) else home / ".config"


@dataclass
class _FileEntry:
    """An entry that is one file of ours (desktop entry, LaunchAgent); `read` refuses a foreign one."""

    path: Path

    @property
    def where(self) -> str:
        return str(self.path)

    def read(self) -> list[str] | None:
        raise NotImplementedError

    def remove(self) -> None:
        if self.path.exists():
            self.read()  # refuses to remove an entry that is not ours
            self.path.unlink()


class XdgAutostart(_FileEntry):
    def read(self) -> list[str] | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise AutostartError(f"cannot read {self.path}: {exc.__class__.__name__}") from None
        keys = _desktop_keys(text)
        if keys.get(MARKER) != "true":
            raise AutostartError(f"{self.path} exists and was not written by socialdesk; it was left alone")
        if keys.get("Hidden") == "true" or keys.get("X-GNOME-Autostart-enabled") == "false":
            return None  # switched off by the desktop's own settings
        return _exec_unquote(keys.get("Exec", ""))

    def write(self, argv: list[str]) -> None:
        if self.path.exists():
            self.read()  # refuses to overwrite an entry that is not ours
        exec_value = _value_escape(" ".join(exec_quote(a) for a in argv))
        text = "\n".join([
            "[Desktop Entry]",
            "Type=Application",
            f"Name={APP_NAME}",
            "Comment=Answer every customer message from one keyboard-driven queue (starts in the tray)",
            f"Exec={exec_value}",
            f"Icon={DESKTOP_ID}",
            "Terminal=false",
            "X-GNOME-Autostart-enabled=true",
            f"{MARKER}=true",
            "",
        ])
        _atomic_write(self.path, text.encode("utf-8"))


def _desktop_keys(text: str) -> dict[str, str]:
    """Keys of the [Desktop Entry] group (the only group our entry has)."""
    keys: dict[str, str] = {}
    group = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1]
        elif group == "Desktop Entry" and "=" in line:
            key, value = line.split("=", 1)
            keys[key.strip()] = value.strip()
    return keys


# --- macOS ----------------------------------------------------------------------------------------------


class LaunchAgent(_FileEntry):
    def read(self) -> list[str] | None:
        try:
            data = plistlib.loads(self.path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, plistlib.InvalidFileException, ValueError) as exc:
            raise AutostartError(f"cannot read {self.path}: {exc.__class__.__name__}") from None
        if not isinstance(data, dict) or data.get("Label") != DESKTOP_ID:
            raise AutostartError(f"{self.path} exists and was not written by socialdesk; it was left alone")
        if data.get("Disabled") is True or data.get("RunAtLoad") is not True:
            return None
        argv = data.get("ProgramArguments")
        return [str(a) for a in argv] if isinstance(argv, list) else None

    def write(self, argv: list[str]) -> None:
        if self.path.exists():
            self.read()
        plist = {
            "Label": DESKTOP_ID,
            "ProgramArguments": list(argv),
            "RunAtLoad": True,
            # An app the owner works with: launchd gives it normal (not background) resources.
            "ProcessType": "Interactive",
        }
        _atomic_write(self.path, plistlib.dumps(plist, fmt=plistlib.FMT_XML))


# --- Windows --------------------------------------------------------------------------------------------


@dataclass
class RunKey:
    winreg: Any  # the winreg module (a fake in tests)

    @property
    def where(self) -> str:
        return "HKEY_CURRENT_USER\\" + RUN_KEY

    def read(self) -> list[str] | None:
        reg = self.winreg
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_READ) as key:
                value, kind = reg.QueryValueEx(key, RUN_VALUE)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise AutostartError(f"cannot read the Run key: {exc.__class__.__name__}") from None
        if kind not in (reg.REG_SZ, reg.REG_EXPAND_SZ) or not isinstance(value, str):
            raise AutostartError("the Run key's socialdesk value was not written by socialdesk; it was left alone")
        return _split_cmdline(value)

    def write(self, argv: list[str]) -> None:
        reg = self.winreg
        try:
            with reg.CreateKeyEx(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_SET_VALUE) as key:
                reg.SetValueEx(key, RUN_VALUE, 0, reg.REG_SZ, subprocess.list2cmdline(argv))
        except OSError as exc:
            raise AutostartError(f"cannot write the Run key: {exc.__class__.__name__}") from None

    def remove(self) -> None:
        reg = self.winreg
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_SET_VALUE) as key:
                reg.DeleteValue(key, RUN_VALUE)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise AutostartError(f"cannot change the Run key: {exc.__class__.__name__}") from None


def _split_cmdline(line: str) -> list[str]:
    """Split a Windows command line as the C runtime does (the inverse of subprocess.list2cmdline):
    2n backslashes before a quote are n backslashes and the quote toggles quoting, 2n+1 give n and a
    literal quote; other backslashes are literal; blanks outside quotes separate arguments."""
    out: list[str] = []
    current: list[str] = []
    in_arg = quoted = False
    backslashes = 0
    for ch in line:
        if ch == "\\":
            backslashes += 1
            in_arg = True
            continue
        if ch == '"':
            current.append("\\" * (backslashes // 2))
            if backslashes % 2:
                current.append('"')
            else:
                quoted = not quoted
            backslashes = 0
            in_arg = True
            continue
        current.append("\\" * backslashes)
        backslashes = 0
        if ch in " \t" and not quoted:
            if in_arg:
                out.append("".join(current))
            current, in_arg = [], False
            continue
        current.append(ch)
        in_arg = True
    current.append("\\" * backslashes)
    if in_arg:
        out.append("".join(current))
    return out


# --- the facade -----------------------------------------------------------------------------------------


def target(
    platform: str | None = None, env: Mapping[str, str] | None = None, home: Path | None = None, winreg: Any = None
) -> _Target:
    """The mechanism of this platform (arguments for tests; defaults: this machine)."""
    platform = platform or sys.platform
    env = os.environ if env is None else env
    home = home or Path(env.get("HOME") or Path.home())
    if platform == "win32":
        if winreg is None:
            import winreg as real_winreg  # only on Windows

            winreg = real_winreg
        return RunKey(winreg)
    if platform == "darwin":
        return LaunchAgent(home / "Library" / "LaunchAgents" / f"{DESKTOP_ID}.plist")
    return XdgAutostart(xdg_config_home(env, home) / "autostart" / f"{DESKTOP_ID}.desktop")


def is_enabled(where: _Target | None = None) -> bool:
    """Whether socialdesk starts at login through its own entry (False when the entry is someone else's)."""
    try:
        argv = (where or target()).read()
    except AutostartError:
        return False
    return argv is not None and TRAY_FLAG in argv


def set_enabled(enabled: bool, profile: str = "default", where: _Target | None = None) -> str:
    """Write or remove the entry; returns where (for the owner). Raises AutostartError (owner-readable)."""
    where = where or target()
    try:
        if enabled:
            where.write(command(profile))
        else:
            where.remove()
    except OSError as exc:
        raise AutostartError(f"cannot change {where.where}: {exc.strerror or exc.__class__.__name__}") from None
    return where.where
