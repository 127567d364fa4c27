"""Web layer: REST API, WebSocket hub and the agent desktop pages."""
