"""Hotline's composition root: settings, database plumbing, the event bus, the CLI and the wiring."""
