"""IVR: the FastAGI server and the menu engine (built by the IVR issue)."""
