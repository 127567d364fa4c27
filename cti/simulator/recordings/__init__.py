"""Recorded Asterisk 22.10.1 AMI transcripts the PBX simulator (`cti.simulator`) builds its frames from."""
