"""End to end: `socialdesk snippets import` of a bad file is one clear line and exit 1 (issue 12, item 17)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.fixture
def sd(tmp_path, socialdesk_home):
    env = {**os.environ, "SOCIALDESK_HOME": str(socialdesk_home)}

    def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "socialdesk", *args], cwd=tmp_path, env=env,
                              input=stdin, capture_output=True, timeout=60)

    assert run("account", "add", "demo", "D", "--set", "channel=telegram").returncode == 0
    return run


@pytest.mark.parametrize("name, content, words", [
    ("deep.json", b"[" * 100_000, b"nested too deeply"),
    ("big.json", b'[{"abbreviation": "a", "title": "A", "body": "B", "favorite_slot": 1' + b"0" * 5000 + b"}]",
     b"too large"),
    ("latin.csv", "abbreviation,title,body\nc,Café,x\n".encode("latin-1"), b"not UTF-8"),
], ids=["deep", "huge-number", "latin-1"])
def test_a_bad_file_is_one_line_and_exit_1(sd, tmp_path, name, content, words):
    path = tmp_path / name
    path.write_bytes(content)
    before = sd("snippets", "list", "--json").stdout
    proc = sd("snippets", "import", str(path))
    assert proc.returncode == 1
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and words.decode() in lines[0] and lines[0].endswith("Nothing was imported.")
    assert sd("snippets", "list", "--json").stdout == before


def test_deep_json_on_standard_input_too(sd):
    proc = sd("snippets", "import", "-", stdin=b"[" * 100_000)
    assert proc.returncode == 1 and b"Traceback" not in proc.stderr
    assert proc.stderr.decode().strip().splitlines() == ["socialdesk: -: Not a snippet list: the JSON is nested too deeply. "
                                                         "Nothing was imported."]
