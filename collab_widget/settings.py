"""What the service is told by the extension's configuration, and what it counts."""

from __future__ import annotations

from dataclasses import dataclass, fields

from .protocol import Limits


@dataclass(frozen=True)
class ServiceSettings:
    """Everything the service is told by the extension's configuration.

    Each field but ``limits`` is the ``CollabApp`` traitlet of the same name (see its help
    text there); ``limits`` holds the two the validators need. No defaults here: the
    traitlets have them (:meth:`from_config`).
    """

    limits: Limits
    max_payload_bytes: int
    max_transport_bytes: int
    message_rate: float
    message_burst: int
    event_rate: float
    event_burst: int
    presence_rate: float
    presence_burst: int
    max_connections_per_user: int
    max_output_bytes: int
    presence_hz: float
    presence_room_batches: float
    presence_ttl: float
    ping_interval: float
    ping_timeout: float
    teachers: list[str]
    teacher_groups: list[str]

    @classmethod
    def from_config(cls, config: object) -> ServiceSettings:
        """The settings from ``config``'s attributes of the same names (the app's traitlets)."""
        limits = Limits(**{f.name: getattr(config, f.name) for f in fields(Limits)})
        values = {f.name: getattr(config, f.name) for f in fields(cls) if f.name != "limits"}
        return cls(limits=limits, **values)


@dataclass
class Stats:
    """Counters shown by ``GET collab/api/stats``."""

    messages_in: int = 0
    messages_out: int = 0
    presence_batches: int = 0
    presence_ticks: int = 0
    events_in: int = 0
    errors: int = 0
