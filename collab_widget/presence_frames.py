"""The ``presence`` event recipients get, as JSON text: pure functions, no I/O.

:func:`compact_body` turns a protocol 1.2 :class:`~collab_widget.presence.Delivery` into the
one body all its recipients get (``["presence", {room, ts, set, gone, reset?}]``; each skips
its own member number). :func:`presence_bodies` turns a 1.0/1.1 one into the body
(``["presence", {room, updates, removed, reset?}]``) of each recipient's event: the change
list minus the recipient's own entry and own removal. Each entry is encoded once for the
whole room, and recipients with nothing of their own in the list share one body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .fanout import dumps
from .presence import Delivery, Entry


def entry_json(entry: Entry) -> str:
    """An entry's JSON, made once and cached on the entry."""
    if entry.encoded is None:
        entry.encoded = dumps(entry.wire)
    return entry.encoded


def presence_bodies(
    room: str, delivery: Delivery, encode: Callable[[Entry], str] = entry_json
) -> Iterator[tuple[str, str]]:
    """Yield ``(recipient, body)`` for each recipient of ``delivery`` that gets something.

    :param room: the room's name, as put in the event.
    :param delivery: the change list and its recipients (session public ids).
    :param encode: an entry's JSON text; called once per entry of the delivery.
    :returns: pairs for the recipients with something of their own first (their own entry or
        removal left out), in the order of ``delivery.recipients``, then the others, who all
        get the **same** ``str`` object: a caller can encode one frame for that run (compare
        bodies with ``is``). A recipient with no update, no removal and no reset to receive
        is left out.
    """
    fragments = [encode(e) for e in delivery.updates]
    position = {e.session: i for i, e in enumerate(delivery.updates)}
    head = '["presence",{"room":' + dumps(room) + ',"updates":['
    tail = "}]" if not delivery.reset else ',"reset":true}]'

    def body(updates: list[str], removed: list[str]) -> str:
        return f'{head}{",".join(updates)}],"removed":{dumps(removed)}{tail}'

    shared: list[str] = []  # recipients with nothing of their own in the list
    for recipient in delivery.recipients:
        own = position.get(recipient)
        removed = [s for s in delivery.removed if s != recipient]
        if own is None and len(removed) == len(delivery.removed):
            shared.append(recipient)
            continue
        updates = fragments if own is None else fragments[:own] + fragments[own + 1 :]
        if not updates and not removed and not delivery.reset:
            continue
        yield recipient, body(updates, removed)
    if shared and (fragments or delivery.removed or delivery.reset):
        common = body(fragments, delivery.removed)
        for recipient in shared:
            yield recipient, common


def compact_body(room: str, delivery: Delivery, ts: int) -> str:
    """The protocol 1.2 batch of ``delivery``, the same for each of its recipients.

    :param room: the room's name, as put in the event.
    :param delivery: a ``compact`` delivery.
    :param ts: the batch's time (ms since the epoch): the ``ts`` of the entries sent as
        changed fields.
    :returns: ``["presence", {room, ts, set, gone, reset?}]``; ``set`` holds ``[n, fields]``
        for an entry the recipients hold, ``[n, state, session, user, ts]`` for a whole one.
    """
    fields = delivery.fields or [None] * len(delivery.updates)
    items: list[list[Any]] = []
    for entry, changed in zip(delivery.updates, fields, strict=True):
        wire = entry.wire
        if wire is None:
            continue
        if changed is None:
            items.append([entry.number, wire["state"], entry.session, wire["user"], wire["ts"]])
        elif changed:
            items.append([entry.number, changed])
    payload: dict[str, Any] = {"room": room, "ts": ts, "set": items, "gone": delivery.gone}
    if delivery.reset:
        payload["reset"] = True
    return dumps(["presence", payload])
