"""CTI: the AMI client and the call pipeline, screen pops, agent states, the dialer, callbacks and
click-to-dial; what other packages use of it is named here (its stores are not)."""

from cti.agent_service import (
    AgentStateService,
    AgentStateSettings,
    StaffingWarning,
)
from cti.agent_states import (
    AgentStatus,
    Presence,
)
from cti.ami_client import (
    AmiActions,
    AmiClient,
    AmiSettings,
    OfflinePbx,
)
from cti.call_history import CallHistory
from cti.callback_service import (
    CallbackService,
    CallbackSettings,
)
from cti.callbacks import (
    Callback,
    CallbackStatus,
)
from cti.campaign_service import CampaignService
from cti.campaigns import (
    Campaign,
    CampaignSpec,
    CampaignState,
    DialMethod,
    DropAction,
    Lead,
    RetryPolicy,
)
from cti.click_to_dial import ClickToDial
from cti.dialer import (
    CampaignStatus,
    Dialer,
    DialerSettings,
    OutboundPop,
)
from cti.errors import (
    AgentStateError,
    AmiActionError,
    AmiAuthenticationError,
    AmiInjectionError,
    AmiNotConnectedError,
    AmiProtocolError,
    AmiTimeoutError,
    CallbackError,
    CallbackNotFoundError,
    CampaignNotFoundError,
    CtiError,
    DialerError,
    InvalidCallbackError,
    InvalidCampaignError,
    LeadNotFoundError,
    NotDiallableError,
    NotInQueueError,
    UnknownPauseReasonError,
)
from cti.events import (
    CALL_EVENT_TYPES,
    CallAnswered,
    CallEnded,
    CallEvent,
    CallLogged,
    CallOffered,
    CallOutcome,
    OfferRetracted,
    QueueCallerAbandoned,
    RetractReason,
)
from cti.kpi import (
    Forecast,
    QueueFigures,
)
from cti.leads_import import (
    LeadImportReport,
    ParsedLeads,
    PhoneNormaliser,
    parse_leads,
)
from cti.pipeline import (
    CallPipeline,
    run_ami,
)
from cti.screen_pop import (
    CallerCardLike,
    CustomerLike,
    InteractionLike,
    OpenPop,
    PopDetails,
    PopMessage,
    ScreenPop,
    ScreenPopService,
)
from cti.store import (
    IvrVisitRecord,
    LoggedCall,
    StateTotal,
)

__all__ = [
    "CALL_EVENT_TYPES",
    "AgentStateError",
    "AgentStateService",
    "AgentStateSettings",
    "AgentStatus",
    "AmiActionError",
    "AmiActions",
    "AmiAuthenticationError",
    "AmiClient",
    "AmiInjectionError",
    "AmiNotConnectedError",
    "AmiProtocolError",
    "AmiSettings",
    "AmiTimeoutError",
    "CallAnswered",
    "CallEnded",
    "CallEvent",
    "CallHistory",
    "CallLogged",
    "CallOffered",
    "CallOutcome",
    "CallPipeline",
    "Callback",
    "CallbackError",
    "CallbackNotFoundError",
    "CallbackService",
    "CallbackSettings",
    "CallbackStatus",
    "CallerCardLike",
    "Campaign",
    "CampaignNotFoundError",
    "CampaignService",
    "CampaignSpec",
    "CampaignState",
    "CampaignStatus",
    "ClickToDial",
    "CtiError",
    "CustomerLike",
    "DialMethod",
    "Dialer",
    "DialerError",
    "DialerSettings",
    "DropAction",
    "Forecast",
    "InteractionLike",
    "InvalidCallbackError",
    "InvalidCampaignError",
    "IvrVisitRecord",
    "Lead",
    "LeadImportReport",
    "LeadNotFoundError",
    "LoggedCall",
    "NotDiallableError",
    "NotInQueueError",
    "OfferRetracted",
    "OfflinePbx",
    "OpenPop",
    "OutboundPop",
    "ParsedLeads",
    "PhoneNormaliser",
    "PopDetails",
    "PopMessage",
    "Presence",
    "QueueCallerAbandoned",
    "QueueFigures",
    "RetractReason",
    "RetryPolicy",
    "ScreenPop",
    "ScreenPopService",
    "StaffingWarning",
    "StateTotal",
    "UnknownPauseReasonError",
    "parse_leads",
    "run_ami",
]
