"""CTI: the AMI client, the call tracker, screen pops and the PBX simulator."""
