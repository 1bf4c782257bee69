"""Start at login (issue 18 item 5): the XDG autostart entry for real (desktop-file-validate), the Windows
Run key against a fake winreg, the macOS LaunchAgent against the property-list format. Nothing is written
outside tmp_path: XDG_CONFIG_HOME and HOME point there."""

from __future__ import annotations

import plistlib
import shutil
import subprocess
from pathlib import Path

import pytest

from socialdesk import DESKTOP_ID, autostart
from socialdesk.cli import build_parser


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path


def test_linux_entry_is_written_where_xdg_says_and_validates(home):
    where = autostart.target("linux")
    assert autostart.is_enabled(where) is False
    path = autostart.set_enabled(True, where=where)
    assert Path(path) == home / "config" / "autostart" / f"{DESKTOP_ID}.desktop"
    assert autostart.is_enabled(where) is True
    if shutil.which("desktop-file-validate") is None:
        pytest.fail("desktop-file-validate is missing: apt install desktop-file-utils")
    out = subprocess.run(["desktop-file-validate", path], capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout + out.stderr) == (0, "")
    text = Path(path).read_text()
    assert "\nExec=" in text and text.rstrip().splitlines()[0] == "[Desktop Entry]"
    autostart.set_enabled(False, where=where)
    assert not Path(path).exists() and autostart.is_enabled(where) is False


def test_xdg_config_home_default_and_relative_value(tmp_path):
    assert autostart.xdg_config_home({}, tmp_path) == tmp_path / ".config"
    assert autostart.xdg_config_home({"XDG_CONFIG_HOME": "rel/dir"}, tmp_path) == tmp_path / ".config"
    assert autostart.xdg_config_home({"XDG_CONFIG_HOME": str(tmp_path / "x")}, tmp_path) == tmp_path / "x"


def test_exec_line_round_trips_hostile_paths_and_still_validates(home):
    where = autostart.target("linux")
    argv = ["/opt/my apps/100% \"sure\"/$HOME`x`\\socialdesk", "--profile", "shop", "--tray"]
    where.write(argv)
    assert where.read() == argv
    out = subprocess.run(["desktop-file-validate", where.where], capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout + out.stderr) == (0, "")
    with pytest.raises(autostart.AutostartError):
        where.write(["/bin/socialdesk\nX-Evil=1", "--tray"])


def test_an_entry_that_is_not_ours_is_left_alone(home):
    where = autostart.target("linux")
    path = Path(where.where)
    path.parent.mkdir(parents=True)
    path.write_text("[Desktop Entry]\nType=Application\nName=mine\nExec=/usr/bin/true\n")
    assert autostart.is_enabled(where) is False
    for enabled in (True, False):
        with pytest.raises(autostart.AutostartError, match="not written by socialdesk"):
            autostart.set_enabled(enabled, where=where)
    assert "Name=mine" in path.read_text()


def test_entry_switched_off_by_the_desktop_counts_as_off(home):
    where = autostart.target("linux")
    autostart.set_enabled(True, where=where)
    path = Path(where.where)
    path.write_text(path.read_text() + "Hidden=true\n")
    assert autostart.is_enabled(where) is False


def test_command_starts_in_the_tray_with_the_profile(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "socialdesk").write_text("#!/bin/sh\n")
    python = str(bindir / "python3")
    assert autostart.command(executable=python, frozen=False) == [str(bindir / "socialdesk"), "--tray"]
    assert autostart.command("shop", executable=str(tmp_path / "python"), frozen=False) == [
        str(tmp_path / "python"), "-m", "socialdesk", "--profile", "shop", "--tray"]
    assert autostart.command(executable="/app/socialdesk", frozen=True) == ["/app/socialdesk", "--tray"]


def test_the_command_line_knows_the_tray_flag():
    args = build_parser().parse_args(["--tray"])
    assert args.tray is True and args.command is None


# --- Windows: the Run key, with a fake winreg ------------------------------------------------------------


class FakeWinreg:
    """The part of winreg the module uses, over a dict: {key path: {value name: (data, type)}}."""

    HKEY_CURRENT_USER = "HKCU"
    KEY_READ, KEY_SET_VALUE = 0x20019, 0x0002
    REG_SZ, REG_EXPAND_SZ, REG_DWORD = 1, 2, 4

    def __init__(self):
        self.keys: dict[str, dict[str, tuple[object, int]]] = {}

    class _Key:
        def __init__(self, values):
            self.values = values

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def OpenKey(self, root, sub, reserved=0, access=0):  # noqa: N802 (winreg's names)
        assert root == self.HKEY_CURRENT_USER and reserved == 0
        if sub not in self.keys:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return self._Key(self.keys[sub])

    def CreateKeyEx(self, root, sub, reserved=0, access=0):  # noqa: N802
        assert root == self.HKEY_CURRENT_USER and access & self.KEY_SET_VALUE
        return self._Key(self.keys.setdefault(sub, {}))

    def QueryValueEx(self, key, name):  # noqa: N802
        if name not in key.values:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return key.values[name]

    def SetValueEx(self, key, name, reserved, kind, value):  # noqa: N802
        assert reserved == 0 and isinstance(value, str) and kind == self.REG_SZ
        key.values[name] = (value, kind)

    def DeleteValue(self, key, name):  # noqa: N802
        if name not in key.values:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        del key.values[name]


def test_windows_run_key_value(monkeypatch):
    reg = FakeWinreg()
    reg.keys[autostart.RUN_KEY] = {"OtherApp": ("C:\\other.exe", reg.REG_SZ)}
    where = autostart.target("win32", winreg=reg)
    monkeypatch.setattr(autostart, "command",
                        lambda profile="default": ["C:\\Program Files\\socialdesk\\socialdesk.exe", "--tray"])
    assert autostart.is_enabled(where) is False
    assert autostart.set_enabled(True, where=where) == r"HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run"
    value, kind = reg.keys[r"Software\Microsoft\Windows\CurrentVersion\Run"]["socialdesk"]
    assert (value, kind) == ('"C:\\Program Files\\socialdesk\\socialdesk.exe" --tray', reg.REG_SZ)
    assert autostart.is_enabled(where) is True
    autostart.set_enabled(False, where=where)
    assert reg.keys[autostart.RUN_KEY] == {"OtherApp": ("C:\\other.exe", reg.REG_SZ)}  # only ours went
    autostart.set_enabled(False, where=where)  # already off: nothing to do, no error


def test_windows_value_of_another_type_is_not_ours():
    reg = FakeWinreg()
    reg.keys[autostart.RUN_KEY] = {"socialdesk": (1, reg.REG_DWORD)}
    assert autostart.is_enabled(autostart.target("win32", winreg=reg)) is False


@pytest.mark.parametrize("argv", [
    ["C:\\a b\\x.exe", "--tray"], ["C:\\dir\\", "a\"b", "", "--tray"], ["c:\\x\\\\\"q", "--profile", "a\tb"],
])
def test_windows_command_line_round_trips(argv):
    assert autostart._split_cmdline(subprocess.list2cmdline(argv)) == argv


# --- macOS: a LaunchAgent property list --------------------------------------------------------------------


def test_macos_launch_agent_plist(home):
    where = autostart.target("darwin", env={}, home=home / "home")
    path = Path(autostart.set_enabled(True, profile="shop", where=where))
    assert path == home / "home" / "Library" / "LaunchAgents" / f"{DESKTOP_ID}.plist"
    raw = path.read_bytes()
    assert raw.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN"')
    data = plistlib.loads(raw, fmt=plistlib.FMT_XML)
    assert data["Label"] == DESKTOP_ID and data["RunAtLoad"] is True and data["ProcessType"] == "Interactive"
    assert data["ProgramArguments"][-3:] == ["--profile", "shop", "--tray"]
    assert all(isinstance(a, str) for a in data["ProgramArguments"])
    assert autostart.is_enabled(where) is True
    autostart.set_enabled(False, where=where)
    assert not path.exists()


def test_macos_foreign_agent_of_the_same_name_is_left_alone(home):
    where = autostart.target("darwin", env={}, home=home / "home")
    path = Path(where.where)
    path.parent.mkdir(parents=True)
    path.write_bytes(plistlib.dumps({"Label": "com.example.other", "RunAtLoad": True}))
    with pytest.raises(autostart.AutostartError):
        autostart.set_enabled(False, where=where)
    assert path.exists()


def test_default_target_here_is_the_xdg_entry_under_the_tests_config_home(home):
    where = autostart.target()  # this machine (Linux, as CI)
    assert isinstance(where, autostart.XdgAutostart)
    assert Path(where.where).is_relative_to(home)  # the test's XDG_CONFIG_HOME, never the real one
