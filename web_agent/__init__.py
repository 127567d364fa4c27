"""Web layer: REST API, WebSocket hub, accounts and tokens, and the agent desktop pages."""
