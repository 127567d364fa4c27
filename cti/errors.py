"""Errors raised by the CTI package.

CtiError
├── AmiProtocolError        the bytes from the PBX do not frame as AMI
├── AmiInjectionError       a value meant for an AMI action holds CR/LF or is too long
├── AmiActionError          the PBX answered an action with Response: Error
├── AmiAuthenticationError  the PBX refused our login (wrong user or secret)
├── AmiNotConnectedError    an action was sent while there is no logged-in connection
├── AmiTimeoutError         the PBX did not answer an action within its deadline
├── AgentStateError         an agent-state request that cannot be carried out
│   ├── UnknownPauseReasonError  the pause reason is not one of the configured reasons
│   └── NotInQueueError          the agent is in no queue (or not in the one named)
├── CallbackError           promised callbacks
│   ├── InvalidCallbackError    a callback request breaks rules; `problems` maps each field to its problem
│   └── CallbackNotFoundError   no open callback has that id
└── DialerError             outbound campaigns
    ├── InvalidCampaignError    a campaign's settings or a lead file are not usable (lists every problem)
    ├── CampaignNotFoundError   no campaign has that id
    ├── LeadNotFoundError       no lead has that id in that campaign
    └── NotDiallableError       the lead may not be dialled now (state, window, do-not-call, suppression)
"""

from __future__ import annotations


class CtiError(Exception):
    """Base class of every error raised by `cti`."""


class AmiProtocolError(CtiError):
    """The byte stream from the PBX is not valid AMI framing."""


class AmiInjectionError(CtiError, ValueError):
    """A value for an AMI action contains CR or LF, or exceeds the length limit."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"refused AMI field {field!r}: {reason}")
        self.field = field
        self.reason = reason


class AmiActionError(CtiError):
    """The PBX answered `Response: Error` to an action."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"AMI action {action} failed: {message}")
        self.action = action
        self.message = message


class AmiAuthenticationError(CtiError):
    """The PBX refused the login; retrying with the same secret will not help."""

    def __init__(self, username: str, message: str) -> None:
        super().__init__(f"AMI login as {username!r} refused: {message}")
        self.username = username
        self.message = message


class AmiNotConnectedError(CtiError):
    """No logged-in AMI connection is available right now."""


class AmiTimeoutError(CtiError):
    """The PBX did not answer an action in time."""

    def __init__(self, action: str, timeout_s: float) -> None:
        super().__init__(f"AMI action {action} got no answer within {timeout_s:g} s")
        self.action = action
        self.timeout_s = timeout_s


class AgentStateError(CtiError):
    """An agent-state request (log in, pause...) that cannot be carried out as asked."""


class UnknownPauseReasonError(AgentStateError):
    """The pause reason is not one of the configured reasons."""

    def __init__(self, reason: str, allowed: tuple[str, ...]) -> None:
        super().__init__(f"pause reason {reason!r} is not one of: {', '.join(allowed)}")
        self.reason = reason
        self.allowed = allowed


class NotInQueueError(AgentStateError):
    """The agent is not a member of any queue, or not of the queue named."""

    def __init__(self, interface: str, queue: str | None) -> None:
        where = f"queue {queue!r}" if queue else "any queue"
        super().__init__(f"{interface} is not logged in to {where}")
        self.interface = interface
        self.queue = queue


class DialerError(CtiError):
    """Base class of the outbound dialer's errors."""


class InvalidCampaignError(DialerError, ValueError):
    """A campaign's settings or a lead file cannot be used; `problems` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class CampaignNotFoundError(DialerError):
    """No campaign has this id."""

    def __init__(self, campaign_id: int) -> None:
        super().__init__(f"campaign {campaign_id} does not exist")
        self.campaign_id = campaign_id


class LeadNotFoundError(DialerError):
    """No lead has this id in this campaign."""

    def __init__(self, lead_id: int) -> None:
        super().__init__(f"lead {lead_id} does not exist")
        self.lead_id = lead_id


class NotDiallableError(DialerError):
    """The lead may not be dialled now; `reason` says why."""

    def __init__(self, lead_id: int, reason: str) -> None:
        super().__init__(f"lead {lead_id} cannot be dialled: {reason}")
        self.lead_id = lead_id
        self.reason = reason


class CallbackError(CtiError):
    """Base class of the errors of promised callbacks."""


class InvalidCallbackError(CallbackError, ValueError):
    """The callback request is malformed; `problems` maps each field to its problem in plain words."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in problems.items()))
        self.problems = problems


class CallbackNotFoundError(CallbackError, LookupError):
    """No open callback has this id (it may be done or cancelled already)."""

    def __init__(self, callback_id: int) -> None:
        super().__init__(f"There is no open callback #{callback_id}.")
        self.callback_id = callback_id
