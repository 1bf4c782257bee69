"""core/account_service: one set of rules and one order of steps for adding, testing, enabling and
removing accounts, used by the window and the command line alike."""

from __future__ import annotations

import dataclasses

import keyring
import pytest
from keyring.backends import fail

from socialdesk.connectors import registry
from socialdesk.connectors.base import AccountInfo, AuthError, PermanentError
from socialdesk.core import account_service as service
from socialdesk.core.changes import ChangeSet
from socialdesk.core.store import Account
from socialdesk.secrets import KeyringSecrets, NoKeyringError

TOKEN = "123456:secret-bot-token"
ROTATED = "123456:rotated-bot-token"


class FakeConnector:
    """Stands in for a platform: `check` answers, refuses, or rotates the token it was given."""

    built: list[dict] = []
    outcome: object = AccountInfo("The Shop", handle="@shop", text_limit=4096)

    def __init__(self, settings: dict, secrets):
        if settings.get("api_base", "").startswith("http://remote"):
            raise PermanentError("Refusing plaintext to a remote host")
        FakeConnector.built.append(dict(settings))
        self.secrets = secrets

    def check(self) -> AccountInfo:
        if isinstance(self.outcome, Exception):
            raise self.outcome
        self.secrets.set("token", ROTATED)  # the platform rotated the token during the check
        return self.outcome

    def close(self) -> None:
        pass


@pytest.fixture
def spec(monkeypatch):
    FakeConnector.built = []
    FakeConnector.outcome = AccountInfo("The Shop", handle="@shop", text_limit=4096)
    return dataclasses.replace(registry.spec("telegram"), factory=FakeConnector)


def stored(profile: str = "t", name: str = "Shop") -> dict[str, str | None]:
    secrets = KeyringSecrets(profile, name)
    return {key: secrets.get(key) for key in ("token", "password") if secrets.get(key) is not None}


@pytest.mark.parametrize(
    ("name", "problem"),
    [("", "Give the account a name"), ("   ", "Give the account a name"), ("x" * 81, "at most 80"),
     ("a/b", "cannot contain “/”"), ("two\nlines", "control characters"), ("tab\there", "control characters")],
)
def test_names_the_window_and_the_cli_refuse_alike(name, problem):
    assert problem in service.name_problem(name)
    with pytest.raises(service.AccountInputError):
        service.check_name(name)


def test_a_name_is_trimmed_and_may_have_80_characters():
    assert service.check_name("  Shop email ") == "Shop email"
    assert service.check_name("é" * 80) == "é" * 80


def test_settings_rules(spec):
    settings = service.initial_settings(spec, {"poll_seconds": "30"})
    assert settings["poll_seconds"] == "30"
    for key, _label, default in spec.settings:
        if default:
            assert settings[key] == default
    for given, words in [({"text_limit": "1000"}, "cannot be set"), ({"colour": "red"}, "Unknown setting"),
                         ({"poll_seconds": "0"}, "poll_seconds"), ({"poll_seconds": "soon"}, "poll_seconds"),
                         ({"poll_seconds": "nan"}, "poll_seconds")]:
        with pytest.raises(service.AccountInputError, match=words):
            service.initial_settings(spec, given)


def test_add_tests_then_stores_secrets_and_the_row(core, spec, published):
    info = core.account_service.add(spec, " Shop ", {"api_base": "https://api.example"}, {"token": TOKEN})
    assert info.display_name == "The Shop"
    account = Account.get(Account.name == "Shop")
    assert account.settings == {"api_base": "https://api.example", "text_limit": 4096}  # learned
    assert stored() == {"token": ROTATED}  # what the check left, not only what was typed
    assert published == [ChangeSet(accounts={account.id})]
    with pytest.raises(service.AccountError, match="exists already"):
        core.account_service.add(spec, "Shop", {}, {"token": TOKEN})


def test_a_refused_test_or_setting_leaves_nothing(core, spec, published):
    FakeConnector.outcome = AuthError("The platform refused the token")
    with pytest.raises(service.AccountNotSaved, match="Connection test failed, nothing was saved: The platform"):
        core.account_service.add(spec, "Shop", {}, {"token": TOKEN})
    with pytest.raises(service.AccountNotSaved, match="^Nothing was saved: Refusing plaintext"):
        core.account_service.add(spec, "Shop", {"api_base": "http://remote.example"}, {"token": TOKEN}, test=False)
    assert Account.select().count() == 0 and stored() == {} and published == []


def test_without_a_keyring_nothing_is_built_or_created(core, spec):
    keyring.set_keyring(fail.Keyring())  # the conftest fixture restores the test keyring afterwards
    with pytest.raises(NoKeyringError):
        core.account_service.add(spec, "Shop", {}, {"token": TOKEN})
    assert FakeConnector.built == [] and Account.select().count() == 0


def test_a_learned_limit_given_as_a_setting_is_dropped(core, spec):
    core.account_service.add(spec, "Shop", {"text_limit": 5}, {"token": TOKEN}, test=False)
    assert "text_limit" not in Account.get(Account.name == "Shop").settings


def test_test_enable_disable_and_remove_publish_and_clean_up(core, spec, published, monkeypatch):
    core.account_service.add(spec, "Shop", {}, {"token": TOKEN})
    account_id = Account.get(Account.name == "Shop").id
    monkeypatch.setattr(core.engine, "make_connector",
                        lambda account: FakeConnector(account.settings, KeyringSecrets("t", account.name)))
    with core.store.write():
        Account.update(state="auth_error", last_error="log in again").where(Account.id == account_id).execute()
    published.clear()
    assert core.account_service.test(account_id).display_name == "The Shop"
    assert Account.get_by_id(account_id).state == "new"  # polled again from a clean state
    core.account_service.set_enabled(account_id, False)
    assert not Account.get_by_id(account_id).enabled
    assert core.account_service.remove(account_id) == service.Removal("Shop")
    assert Account.get_or_none(Account.id == account_id) is None and stored() == {}
    assert published == [ChangeSet(accounts={account_id})] * 3
    with pytest.raises(service.AccountError, match="No account named 'Shop'"):
        core.account_service.by_name("Shop")


def test_one_sign_in_adds_accounts_of_the_kinds_it_names(core, spec):
    """One Google sign-in gives review locations and YouTube channels, one Meta sign-in Pages and
    Instagram accounts: each picked account is added as the kind it names ("" is the sign-in's own)."""
    from socialdesk.connectors.oauth import LoginAccount

    picked = [LoginAccount(label="Chat", info=AccountInfo("Chat"), secrets={"token": TOKEN}),
              LoginAccount(label="Inbox", info=AccountInfo("Inbox"), secrets={"api_key": "k"}, kind="demo")]
    core.account_service.add_signed_in(spec, ["Shop chat", "Shop inbox"], {}, picked)
    kinds = {a.name: a.kind for a in Account.select()}
    assert kinds == {"Shop chat": "telegram", "Shop inbox": "demo"}


def test_a_connection_test_promises_no_retry(core, spec):
    """After the dialog's test nothing retries: "Will try again." is the engine's promise, not the test's."""
    FakeConnector.outcome = service.TransientError(
        "Telegram: could not reach api.telegram.org (connection failed). Will try again.")
    with pytest.raises(service.TransientError) as caught:
        service.check_connection(spec, {}, service.MemorySecrets({"token": TOKEN}))
    assert str(caught.value) == "Telegram: could not reach api.telegram.org (connection failed)."
    with pytest.raises(service.AccountNotSaved) as caught:  # Save (and `account add`) tests too
        core.account_service.add(spec, "Shop", {}, {"token": TOKEN})
    assert str(caught.value).endswith("could not reach api.telegram.org (connection failed).")
