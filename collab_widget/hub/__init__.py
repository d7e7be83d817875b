"""Rooms across a JupyterHub: the ``collab`` service every user's server relays to.

- :func:`configure_hub`: the one call in ``jupyterhub_config.py``;
- :mod:`.auth`: who a relay's token belongs to, with the Hub;
- :mod:`.routes`: delivery of room frames to sessions behind relays;
- :mod:`.service`: the service (the room logic of :class:`~collab_widget.service.CollabService`
  with relayed sessions);
- ``python -m collab_widget.hub``: what JupyterHub runs (:mod:`.__main__`).

The relay itself, in each single-user server, is :mod:`collab_widget.relay`.
"""

from .config import configure_hub

__all__ = ["configure_hub"]
