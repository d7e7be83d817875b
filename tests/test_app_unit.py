"""The app's configuration, without a server: settings come from the traitlets, the store class
is checked, and the Jupyter identity resolver reads the request's user."""

from __future__ import annotations

from dataclasses import fields
from types import SimpleNamespace

import pytest
from traitlets import TraitError
from traitlets.config import Config

from collab_widget.app import CollabApp
from collab_widget.identity import UserInfo, jupyter_identity
from collab_widget.protocol import Limits
from collab_widget.settings import ServiceSettings
from collab_widget.store import SQLiteHistoryStore


def test_settings_are_the_traitlets_of_the_same_name():
    app = CollabApp()
    settings = ServiceSettings.from_config(app)
    traits = app.traits(config=True)
    names = [f.name for f in fields(ServiceSettings) if f.name != "limits"]
    names += [f.name for f in fields(Limits)]
    for name in names:
        assert name in traits, f"ServiceSettings.{name} is not a CollabApp setting"
    for f in fields(ServiceSettings):
        if f.name != "limits":
            assert getattr(settings, f.name) == traits[f.name].default()
    assert settings.limits == Limits(max_text_length=4000, history_page_size=50)


def test_configured_values_reach_the_settings():
    config = Config(
        {"CollabApp": {"message_rate": 3.5, "ping_timeout": 7.0, "max_text_length": 10}}
    )
    settings = ServiceSettings.from_config(CollabApp(config=config))
    assert settings.message_rate == 3.5 and settings.ping_timeout == 7.0
    assert settings.limits.max_text_length == 10 and settings.limits.history_page_size == 50


def test_store_class_defaults_to_sqlite_and_refuses_other_classes():
    assert CollabApp().store_class is SQLiteHistoryStore
    with pytest.raises(TraitError, match="BaseHistoryStore"):
        CollabApp(config=Config({"CollabApp": {"store_class": "collections.OrderedDict"}}))


def test_jupyter_identity_reads_the_handlers_user():
    user = SimpleNamespace(username="ada")
    model = {"username": "ada", "name": "Ada", "display_name": "Ada Lovelace", "initials": None}
    provider = SimpleNamespace(identity_model=lambda u: model if u is user else None)
    handler = SimpleNamespace(current_user=user, identity_provider=provider)
    assert jupyter_identity({"tornado.handler": handler}) == UserInfo.from_identity(model)
    assert jupyter_identity({"tornado.handler": SimpleNamespace(current_user=None)}) is None
    assert jupyter_identity({}) is None
