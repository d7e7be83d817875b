"""A test Authorizer, chosen with ``--ServerApp.authorizer_class=collab_test_authorizer.<name>``.

:class:`DenyDaveCollab` denies the test user ``dave`` (see ``collab_test_identity``) every
action on resource ``collab`` and allows everything else, so a test can see which collab
endpoints ask the authorizer.
"""

from __future__ import annotations

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import User
from jupyter_server.base.handlers import JupyterHandler

DENIED_USER = "dave"
RESOURCE = "collab"


class DenyDaveCollab(Authorizer):
    """Allows every user every action, except ``dave`` on resource ``collab``."""

    def is_authorized(
        self, handler: JupyterHandler, user: User, action: str, resource: str
    ) -> bool:
        """Whether ``user`` may do ``action`` on ``resource``.

        :param handler: the request's handler (unused).
        :param user: the user Jupyter's IdentityProvider resolved.
        :param action: ``read``, ``write`` or ``execute``.
        :param resource: the handler's ``auth_resource``.
        """
        return not (user.username == DENIED_USER and resource == RESOURCE)
