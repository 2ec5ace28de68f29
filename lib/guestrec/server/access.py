"""The studio's roles: guests join, the operator runs the show.

- The guest link's token lets a guest join (unless the studio takes invites only).
- An invite lets one named guest join, one connection at a time, until it expires or is
  revoked (invites.py).
- The operator key is for the control room and every operator action; it never lets
  anyone join, and no guest credential does anything an operator does.

Credentials are compared in constant time (the guest token and the key) or looked up by
their hash (invites). Lives as long as the engine, so sessions keep their owners across
a restart of the HTTP server.
"""

from __future__ import annotations

import hmac

from ..common.access import SHARED_PASS, AccessRefused, GuestGate, GuestPass
from .invites import Invite, Invites

INVITE_PREFIX = "invite:"
INVITE_ONLY = "This studio lets guests in through their own invite links only."
REVOKED = "This invite link was withdrawn by the studio."
EXPIRED = "This invite link has expired."


def _same(offered: str, secret: str) -> bool:
    return bool(secret) and hmac.compare_digest(offered.encode("utf-8"), secret.encode("utf-8"))


class StudioAccess(GuestGate):
    def __init__(self, guest_token: str, operator_key: str, invites: Invites | None = None,
                 invite_only: bool = False) -> None:
        super().__init__()
        self.invites = invites if invites is not None else Invites()
        self.configure(guest_token, operator_key, invite_only)

    def configure(self, guest_token: str, operator_key: str, invite_only: bool) -> None:
        self._guest_token = guest_token
        self._operator_key = operator_key
        self.invite_only = invite_only

    # -- guests --------------------------------------------------------------------

    def identify(self, credential: str | None) -> GuestPass | None:
        if not credential:
            return None
        if _same(credential, self._guest_token):
            return SHARED_PASS
        invite = self.invites.find(credential)
        if invite is None:
            return None
        return GuestPass(INVITE_PREFIX + invite.id, name=invite.name, single=True)

    def check_join(self, guest_pass: GuestPass) -> None:
        if guest_pass == SHARED_PASS:
            if self.invite_only:
                raise AccessRefused(403, INVITE_ONLY)
            return
        invite = self.invite_of(guest_pass)
        if invite is None or invite.revoked:
            raise AccessRefused(403, REVOKED)
        if invite.expired(self.invites.now()):
            raise AccessRefused(403, EXPIRED)

    def joined(self, guest_pass: GuestPass, session_id: str, name: str) -> None:
        invite = self.invite_of(guest_pass)
        if invite is not None:
            self.invites.note_join(invite.id, name)

    def invite_of(self, guest_pass: GuestPass) -> Invite | None:
        return self.invite_of_holder(guest_pass.holder)

    def invite_of_holder(self, holder: str) -> Invite | None:
        if not holder.startswith(INVITE_PREFIX):
            return None
        return self.invites.get(holder[len(INVITE_PREFIX):])

    def invite_session(self, invite_id: str) -> str | None:
        """The latest session opened through that invite (open or not)."""
        return self.session_holders().get(INVITE_PREFIX + invite_id)

    # -- the operator --------------------------------------------------------------

    def is_operator(self, credential: str | None) -> bool:
        return bool(credential) and _same(credential, self._operator_key)  # type: ignore[arg-type]

    def secrets(self) -> list[str]:
        """Everything that must never reach a log line."""
        return [s for s in (self._guest_token, self._operator_key) if s] + self.invites.tokens()
