"""The ``presence`` event each recipient gets, as JSON text: one pure function, no I/O.

:func:`presence_bodies` turns one :class:`~collab_widget.presence.Delivery` into the body
(``["presence", {room, updates, removed, reset?}]``) of each recipient's event: the change
list minus the recipient's own entry and own removal. Each entry is encoded once for the
whole room, and recipients with nothing of their own in the list share one body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

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
