"""collab-widget: live collaboration for Jupyter (Socket.IO rooms, chat, presence, cursors)."""

from __future__ import annotations

from typing import Any

from ._version import __version__

__all__ = ["Poll", "Room", "__version__"]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import CollabApp

    return [{"module": "collab_widget", "app": CollabApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "collab-widget"}]


def __getattr__(name: str) -> Any:
    # Imported lazily: the server extension must not need ipywidgets' import cost.
    if name == "Room":
        from .widget import Room

        return Room
    if name == "Poll":
        from .poll import Poll

        return Poll
    raise AttributeError(name)
