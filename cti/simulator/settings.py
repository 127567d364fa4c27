"""How the PBX simulator listens, authenticates, which queue and agents it has, and what traffic it plays."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cti.simulator.frames import AgentInterface, bad_text, check_caller

__all__ = ["SimulatorSettings"]


@dataclass(frozen=True)
class SimulatorSettings:
    """How the simulated PBX listens, authenticates and generates queue traffic.

    Ring and talk durations are absolute; `time_scale` only shrinks the recorded gaps between them.
    """

    host: str = "127.0.0.1"
    port: int = 0
    username: str = "hotline"
    secret: str = field(default="hotline-demo", repr=False)
    queue: str = "support"
    agent_interfaces: tuple[str, ...] = ("Local/1001@agents", "Local/1002@agents")
    calls_per_minute: float = 6.0
    ring_s: float = 4.0
    talk_s: float = 20.0
    abandon_share: float = 0.15
    ringall_share: float = 0.2
    caller_numbers: tuple[tuple[str, str], ...] = ()
    time_scale: float = 1.0
    seed: int | None = None
    auth_failure_delay_s: float = 1.0
    client_buffer_bytes: int = 4 * 1024 * 1024
    # Originate (outbound dialling): the share of dials answered and busy (the rest ring out),
    # seconds until answer or busy, and seconds until an unanswered dial gives up.
    originate_answer_share: float = 0.5
    originate_busy_share: float = 0.2
    originate_ring_s: float = 3.0
    originate_no_answer_s: float = 8.0
    # An answered campaign call reaches an agent on auto-answer, as predictive dialling needs
    # (the customer is dropped after 2 s without one): the agent's leg rings this long, not ring_s.
    outbound_agent_ring_s: float = 0.5
    # The share of inbound calls that walk Hotline's FastAGI IVR before joining the queue, and
    # where it listens (the demo sends half of its calls through it).
    ivr_share: float = 0.0
    ivr_host: str = "127.0.0.1"
    ivr_port: int = 4573

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not 0 <= self.port <= 65535:
            problems.append(f"port {self.port} is out of range")
        for name in ("username", "secret", "queue"):
            value = getattr(self, name)
            if not value or bad_text(value):
                problems.append(f"{name} must be non-empty text without control characters")
        if not re.fullmatch(r"[\w.-]{1,80}", self.queue):
            problems.append(f"queue {self.queue!r} must be 1-80 letters, digits, '_', '.' or '-'")
        if not self.agent_interfaces:
            problems.append("agent_interfaces must name at least one interface")
        for interface in self.agent_interfaces:
            try:
                AgentInterface.parse(interface)
            except ValueError as exc:
                problems.append(str(exc))
        for name in (
            "calls_per_minute",
            "ring_s",
            "talk_s",
            "auth_failure_delay_s",
            "originate_ring_s",
            "originate_no_answer_s",
            "outbound_agent_ring_s",
        ):
            if not getattr(self, name) >= 0:
                problems.append(f"{name} must be >= 0")
        if not self.time_scale > 0:
            problems.append("time_scale must be > 0")
        shares = (self.abandon_share, self.ringall_share)
        if not all(0 <= s <= 1 for s in shares) or sum(shares) > 1:
            problems.append("abandon_share and ringall_share must be within 0..1 and sum to at most 1")
        originate = (self.originate_answer_share, self.originate_busy_share)
        if not all(0 <= x <= 1 for x in originate) or sum(originate) > 1:
            problems.append("originate_answer_share and originate_busy_share must be within 0..1, sum <= 1")
        if not 0 <= self.ivr_share <= 1 or not 0 <= self.ivr_port <= 65535:
            problems.append("ivr_share must be within 0..1 and ivr_port within 0..65535")
        if self.client_buffer_bytes < 64 * 1024:
            problems.append("client_buffer_bytes must be at least 64 KiB")
        for number, name in self.caller_numbers:
            try:
                check_caller(number, name)
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            raise ValueError("invalid simulator settings: " + "; ".join(problems))
