"""Tests for paths.py, secrets.py and lock.py: data root, profile names, keyring scoping, one process per profile."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keyring
import keyring.errors
import pytest
from keyring.backends import fail

from socialdesk import paths
from socialdesk.lock import ProfileLock, ProfileLockedError
from socialdesk.secrets import NO_KEYRING_MESSAGE, SERVICE, KeyringSecrets, NoKeyringError, forget_account
from tests.keyring_backends import MemoryKeyring


def test_socialdesk_home_is_respected(socialdesk_home):
    assert paths.data_root() == socialdesk_home
    p = paths.profile()
    assert p.name == "default"
    assert p.root == socialdesk_home / "profiles" / "default"
    assert p.database.parent == p.root and p.lock_file.parent == p.root
    assert not p.root.exists()
    p.ensure()
    assert p.root.is_dir() and p.backups.is_dir()
    assert paths.profile("demo").ipc_name != p.ipc_name


@pytest.mark.parametrize("name", ["../x", "..", "a/b", "a\\b", "", ".hidden", "-rf", "x" * 65, "a b", "ü"])
def test_bad_profile_names_are_rejected(name):
    with pytest.raises(paths.ProfileNameError):
        paths.profile(name)


@pytest.mark.parametrize("name", ["work", "shop-2", "a.b_c", "x" * 64])
def test_good_profile_names_stay_under_the_root(name, socialdesk_home):
    root = paths.profile(name).root.resolve()
    assert root.parent == (socialdesk_home / "profiles").resolve()


def test_keyring_secrets_are_scoped(memory_keyring):
    a = KeyringSecrets("default", "Shop mail")
    b = KeyringSecrets("default", "Other")
    assert a.get("password") is None
    a.set("password", "s3cret")
    assert a.get("password") == "s3cret"
    assert b.get("password") is None
    assert KeyringSecrets("work", "Shop mail").get("password") is None
    assert memory_keyring.values == {(SERVICE, "default/Shop mail/password"): "s3cret"}
    a.delete("password")
    a.delete("password")  # deleting twice is fine
    assert a.get("password") is None


def test_forget_account_removes_every_secret(memory_keyring):
    s = KeyringSecrets("default", "Masto")
    s.set("token", "t")
    s.set("client_secret", "c")
    KeyringSecrets("default", "Keep").set("token", "k")
    forget_account("default", "Masto", ("token", "client_secret", "never-stored"))
    assert list(memory_keyring.values) == [(SERVICE, "default/Keep/token")]


def test_no_keyring_gives_a_clear_error():
    keyring.set_keyring(fail.Keyring())  # the conftest fixture restores the previous backend
    s = KeyringSecrets("default", "Shop")
    for call in (lambda: s.get("password"), lambda: s.set("password", "x"), lambda: s.delete("password")):
        with pytest.raises(NoKeyringError) as info:
            call()
        assert str(info.value) == NO_KEYRING_MESSAGE
        assert "keyring" in str(info.value) and "Nothing was saved" in str(info.value)
    forget_account("default", "Shop", ("password",))  # does not raise


def test_profile_lock_blocks_another_process(tmp_path):
    path = tmp_path / "profile" / "socialdesk.lock"
    script = textwrap.dedent(
        f"""
        from socialdesk.lock import ProfileLock, ProfileLockedError
        try:
            ProfileLock({str(path)!r}).acquire()
        except ProfileLockedError as exc:
            print("LOCKED", exc)
        else:
            print("ACQUIRED")
        """
    )

    def other() -> str:
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        return out.stdout

    with ProfileLock(path) as lock:
        assert path.read_text() == str(os.getpid())
        result = other()
        assert result.startswith("LOCKED")
        assert f"pid {os.getpid()}" in result
        assert "already in use" in result
        with pytest.raises(ProfileLockedError):
            ProfileLock(path).acquire()  # also within the process
        assert lock._fh is not None
    # Released: the other process gets it (and the OS releases it when that process exits).
    assert other().startswith("ACQUIRED")
    with ProfileLock(path):
        pass


class LockedKeyring(MemoryKeyring):
    """A keyring that is present but refuses every call (a locked wallet)."""

    def get_password(self, service, username):
        raise keyring.errors.KeyringLocked("locked")

    def set_password(self, service, username, password):
        raise keyring.errors.KeyringLocked("locked")

    def delete_password(self, service, username):
        raise keyring.errors.KeyringLocked("locked")


def test_locked_keyring_raises_no_keyring_error_without_the_value():
    keyring.set_keyring(LockedKeyring())
    s = KeyringSecrets("default", "Shop")
    for call in (lambda: s.get("password"), lambda: s.set("password", "hunter2"), lambda: s.delete("password")):
        with pytest.raises(NoKeyringError) as info:
            call()
        assert "KeyringLocked" in str(info.value) and "hunter2" not in str(info.value)
    forget_account("default", "Shop", ("password",))  # removal of an account still completes


# --- issue 12 items 1, 2, 15, 16 ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["demo\n", "work\r\n", "a\tb", "a\x00b", "shop\x1b[2J", "a/b\n", "default\n\n"])
def test_profile_names_with_control_characters_are_rejected(name):
    # `$` matched before a trailing newline, so "demo\n" used to be a valid, different profile
    with pytest.raises(paths.ProfileNameError) as info:
        paths.profile(name)
    assert "\n" not in str(info.value)


def test_existing_profiles_lists_only_profile_folders(socialdesk_home):
    assert paths.existing_profiles() == []
    paths.profile("shop").ensure()
    paths.profile("default").ensure()
    (socialdesk_home / "profiles" / "stray-file").write_text("x")
    (socialdesk_home / "profiles" / "not a profile").mkdir()
    assert paths.existing_profiles() == ["default", "shop"]
    assert paths.profile("shop").exists() and not paths.profile("nosuch").exists()


@pytest.mark.parametrize("backend", ["null", "empty chainer"])
def test_backends_that_keep_nothing_count_as_no_keyring(backend, monkeypatch):
    from keyring.backends import chainer, null

    from socialdesk.secrets import keyring_available, require_keyring

    if backend == "null":  # keyring.disable() selects it: set_password silently does nothing
        keyring.set_keyring(null.Keyring())
    else:
        monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
        keyring.set_keyring(chainer.ChainerBackend())
    assert not keyring_available()
    with pytest.raises(NoKeyringError) as info:
        KeyringSecrets("default", "Shop").set("password", "hunter22")
    assert "Secret Service" in str(info.value) and "KWallet" in str(info.value) and "keyrings.alt" in str(info.value)
    with pytest.raises(NoKeyringError):
        require_keyring()


def test_the_package_ships_no_keyring_backend_and_no_test_switch():
    """Nothing test-only is importable from the installed package or selectable by its environment:
    keyring would otherwise pick such a backend by itself (an in-memory one said "Added" and lost the token)."""
    import importlib
    import pkgutil

    from keyring.backend import KeyringBackend

    import socialdesk

    root = Path(socialdesk.__file__).parent
    for module in pkgutil.walk_packages([str(root)], "socialdesk."):
        assert "test" not in module.name.rsplit(".", 1)[-1], module.name
        if not module.name.endswith("__main__"):  # importing that one runs the command line
            importlib.import_module(module.name)
    ours = [cls for cls in KeyringBackend._classes if cls.__module__.startswith("socialdesk")]
    assert ours == []
    for source in root.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert "SOCIALDESK_TEST_KEYRING" not in text and "set_keyring(" not in text, source


def test_the_test_backends_are_never_chosen_by_keyring_itself(monkeypatch):
    from keyring import core

    from tests.keyring_backends import FileKeyring

    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setattr(core, "load_config", lambda: None)  # the machine's keyringrc.cfg plays no part
    chosen = core._detect_backend()
    assert not isinstance(chosen, (MemoryKeyring, FileKeyring))


SECRET = "Zähler€-Geheimnis-9"


def _leaks(text: str, secret: str = SECRET) -> list[str]:
    """Every trace of `secret` in `text`: the value, any non-ASCII character of it (also escaped)."""
    found = [secret] if secret in text else []
    for ch in {c for c in secret if ord(c) > 127}:
        found += [form for form in (ch, ascii(ch)[1:-1]) if form in text]
    return found


def test_error_text_never_quotes_the_input_of_a_unicode_error():
    from socialdesk.secrets import error_text

    try:
        SECRET.encode("ascii")
    except UnicodeEncodeError as exc:
        encode = exc
    try:
        SECRET.encode("utf-8").decode("ascii")
    except UnicodeDecodeError as exc:
        decode = exc
    assert _leaks(str(encode)) and "0xc3 in position 1" in str(decode)  # the premise: str() quotes the input
    for exc in (encode, decode):
        text = error_text(exc)
        assert _leaks(text) == [] and "position" not in text and "0x" not in text and "ascii" in text


def test_redact_removes_every_spelling_of_a_remembered_secret():
    import urllib.parse

    from socialdesk.secrets import error_text, redact, remember

    secret = "Pässwort-über-Brücke"
    remember(secret)
    for text in (f"login {secret} refused", f"args ({secret!r},)", f"{ascii(secret)}", f"{secret.encode()!r}",
                 f"https://x/?p={urllib.parse.quote(secret)}", f"p={urllib.parse.quote_plus(secret)}"):
        assert "[secret]" in redact(text), text
        assert "Brücke" not in redact(text) and "Br\\xfccke" not in redact(text)
    assert error_text(RuntimeError(f"server said: bad password {secret}")) == "server said: bad password [secret]"
    assert redact("nothing secret here") == "nothing secret here"
    remember("abc")  # too short to scrub without garbling every message
    assert redact("abc abc") == "abc abc"


def test_keyring_secrets_remember_what_they_read_and_store(memory_keyring):
    from socialdesk.secrets import redact

    KeyringSecrets("default", "Shop").set("password", "stored-Ωmega-1")
    memory_keyring.values[(SERVICE, "default/Other/token")] = "read-token-Ψ-2"
    assert KeyringSecrets("default", "Other").get("token") == "read-token-Ψ-2"
    assert redact("a stored-Ωmega-1 b read-token-Ψ-2") == "a [secret] b [secret]"


def test_log_lines_never_quote_a_secret(tmp_path):
    """The log file's formatter: a traceback ending in a UnicodeEncodeError (also chained), an exception
    given as a message argument, and a remembered secret in the message itself."""
    import logging

    from socialdesk.secrets import RedactingFormatter, remember

    remember(SECRET)
    handler = logging.FileHandler(tmp_path / "x.log", encoding="utf-8")
    handler.setFormatter(RedactingFormatter("%(levelname)s %(message)s"))
    log = logging.getLogger("test-redaction")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        try:
            try:
                SECRET.encode("ascii")
            except UnicodeEncodeError as exc:
                raise RuntimeError("login failed") from exc
        except RuntimeError:
            log.exception("connector crashed")
        try:
            SECRET.encode("ascii")
        except UnicodeEncodeError as exc:
            log.warning("could not log in: %s", exc)
            log.error(exc)
        log.info("the password was %s", SECRET)
    finally:
        log.removeHandler(handler)
        handler.close()
    text = (tmp_path / "x.log").read_text(encoding="utf-8")
    assert _leaks(text) == [] and "position" not in text
    assert "UnicodeEncodeError: 'ascii' codec can't encode a character" in text
    assert "The above exception was the direct cause" in text and "RuntimeError: login failed" in text
    assert "the password was [secret]" in text
