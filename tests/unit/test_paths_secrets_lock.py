"""Tests for paths.py, secrets.py and lock.py: data root, profile names, keyring scoping, one process per profile."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import keyring
import keyring.errors
import pytest
from keyring.backends import fail

from socialdesk import paths
from socialdesk.lock import ProfileLock, ProfileLockedError
from socialdesk.secrets import NO_KEYRING_MESSAGE, SERVICE, KeyringSecrets, NoKeyringError, forget_account
from socialdesk.testing_keyring import MemoryKeyring


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
