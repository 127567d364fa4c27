"""Web layer: REST API, the WebSocket hub and feeds, and the agent desktop pages."""
