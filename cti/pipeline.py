"""The AMI event pipeline: what the PBX says, through the call tracker, to the screen pop and the bus.

The pop is cti's own reaction, called at once; the bus carries the same call events to every
other reaction (the dialer). Raw AMI events also go to the agent states and to listeners (the
dialer follows its own originates); each reader is handed only the event types it reads, so
the many events nobody reads cost one dictionary lookup. After every (re)connect the pipeline
asks the PBX what is really going on and reconciles. `run_ami` runs the client and says once, in words an operator
can act on, why it stopped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from typing import Protocol

from cti.agent_service import AgentStateService
from cti.ami_client import AmiClient
from cti.ami_protocol import AmiMessage
from cti.calls import CallTracker
from cti.errors import AmiAuthenticationError, CtiError
from cti.events import CallEvent, EventSink

log = logging.getLogger(__name__)


class CallReaction(Protocol):
    """What the pipeline hands each call event to first (the screen-pop service)."""

    def handle(self, event: CallEvent) -> None:
        """Take one call event; must not block the AMI reader."""
        ...


class CallPipeline:
    """AMI events -> call tracker -> the pop, then the bus; and the resync after every (re)connect."""

    def __init__(
        self,
        pops: CallReaction,
        events: EventSink,
        *,
        agent_states: AgentStateService | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._pops = pops
        self._events = events
        self._agent_states = agent_states
        self._clock = clock
        self._tracker = CallTracker()
        self._client: AmiClient | None = None
        # Per AMI event name, its readers in order: the tracker, the agent states, the listeners.
        self._readers: dict[str, list[Callable[[AmiMessage], None]]] = {}
        self._route(self._track, self._tracker.event_names)
        if agent_states is not None:
            self._route(agent_states.on_ami_event, agent_states.EVENT_NAMES)

    def attach(self, client: AmiClient) -> None:
        """The client whose every (re)connect `resync` answers (it is built with the pipeline's callbacks)."""
        self._client = client

    def add_listener(self, listener: Callable[[AmiMessage], None], names: Collection[str]) -> None:
        """Also hand the raw AMI events called `names` to `listener` (the dialer follows its own originates)."""
        self._route(listener, names)

    def on_ami_event(self, message: AmiMessage) -> None:
        """Hand one AMI event to its readers: the tracker (what it derives goes to the pop, then
        to the bus), the agent states, the listeners."""
        for reader in self._readers.get(message.name, ()):
            reader(message)

    def _route(self, reader: Callable[[AmiMessage], None], names: Collection[str]) -> None:
        for name in names:
            self._readers.setdefault(name, []).append(reader)

    def _track(self, message: AmiMessage) -> None:
        for event in self._tracker.feed(message, self._clock()):
            self._pass_on(event)

    async def resync(self) -> None:
        """After a (re)connect, ask the PBX what is really going on and reconcile."""
        if self._client is None:
            return
        channels = await self._client.list_action("CoreShowChannels")
        queues = await self._client.list_action("QueueStatus")
        events = self._tracker.resync(channels.items, queues.items, self._clock())
        if self._agent_states is not None:
            self._agent_states.resync(queues.items)
        log.info(
            "resynced with the PBX: %d channels, %d queue items, %d call updates",
            len(channels.items),
            len(queues.items),
            len(events),
        )
        for event in events:
            self._pass_on(event)

    def _pass_on(self, event: CallEvent) -> None:
        self._pops.handle(event)
        self._events.publish(event)


async def run_ami(client: AmiClient) -> None:
    """Run the AMI client until it is closed; a refused login is reported once and the rest keeps serving."""
    try:
        await client.run()
    except AmiAuthenticationError as exc:
        log.error(
            "%s. Check the manager.conf user and HOTLINE_AMI_URL; "
            "Hotline keeps serving but will not see calls until restarted with the right secret.",
            exc,
        )
    except CtiError:
        log.exception("the AMI client stopped")
