"""Settings of the web layer: where it listens and how long logins last."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WebSettings:
    """HTTP/WebSocket listener and session settings."""

    host: str = "127.0.0.1"
    port: int = 8080
    token_ttl_s: int = 12 * 3600
    ws_send_queue: int = 256
    ws_resume_buffer: int = 512
    ws_resume_grace_s: float = 120.0
    login_attempts_per_5min: int = 10
