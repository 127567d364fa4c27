"""Resumable event streams: numbered frames, a bounded replay buffer, resume or snapshot.

Each browser socket reads one stream (its scope). Every event frame carries the stream's
next `seq`. The stream keeps the last `capacity` frames; when the socket drops (network blip,
a browser too slow to read, a laptop lid) the stream keeps numbering and buffering the
agent's events for a grace period. A browser that reconnects with `?scope=<id>&since=<seq>`
gets the frames after `seq`, in order and exactly once, before anything new. When more
was missed than the buffer holds, or the scope is unknown (server restart, grace expired),
it gets a new scope and a snapshot (`op: "snapshot"`) of what it needs instead.
"""

from __future__ import annotations

import secrets
from collections import deque


class ResumableStream:
    """One scope's sequence counter and its buffer of the latest frames."""

    __slots__ = ("_frames", "scope", "seq")

    def __init__(self, capacity: int, scope: str | None = None) -> None:
        self.scope = scope or secrets.token_urlsafe(12)
        self.seq = 0
        self._frames: deque[str] = deque(maxlen=capacity)

    def append(self, type_: str, data_json: str) -> str:
        """Number one event, keep it, and return its frame."""
        self.seq += 1
        frame = f'{{"op":"event","seq":{self.seq},"type":"{type_}","data":{data_json}}}'
        self._frames.append(frame)
        return frame

    def since(self, seq: int) -> list[str] | None:
        """The frames after `seq`, or None when some of them are no longer buffered (or seq is bogus)."""
        if seq < 0 or seq > self.seq:
            return None
        missed = self.seq - seq
        if missed > len(self._frames):
            return None
        if missed == 0:
            return []
        return list(self._frames)[-missed:]
