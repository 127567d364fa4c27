"""Tickets: the service flow from intake to the customer's confirmation (built by the tickets issue)."""
