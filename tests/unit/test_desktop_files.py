"""The Linux desktop entry and AppStream metadata pass the freedesktop validators without a remark
(issue 19). The tools come from the Debian packages desktop-file-utils and appstream."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from socialdesk import DESKTOP_ID

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"


def run_tool(*command: str) -> subprocess.CompletedProcess:
    if shutil.which(command[0]) is None:
        pytest.fail(f"{command[0]} is missing: apt install desktop-file-utils appstream")
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_desktop_entry_validates_without_hints():
    out = run_tool("desktop-file-validate", str(PACKAGING / f"{DESKTOP_ID}.desktop"))
    # desktop-file-validate prints nothing for a clean file; hints (two main categories…) exit 0 too.
    assert (out.returncode, out.stdout + out.stderr) == (0, "")


def test_appstream_metadata_validates_without_warnings():
    out = run_tool("appstreamcli", "validate", "--no-net", str(PACKAGING / f"{DESKTOP_ID}.metainfo.xml"))
    report = out.stdout + out.stderr
    assert out.returncode == 0, report
    assert "W:" not in report and "E:" not in report, report


def test_appstream_metadata_has_what_software_centres_show():
    text = (PACKAGING / f"{DESKTOP_ID}.metainfo.xml").read_text(encoding="utf-8")
    for part in (f"<id>{DESKTOP_ID}</id>", "<screenshot type=\"default\">", "<releases>",
                 "<content_rating type=\"oars-1.1\">", f"<launchable type=\"desktop-id\">{DESKTOP_ID}.desktop"):
        assert part in text
