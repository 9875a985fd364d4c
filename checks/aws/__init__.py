"""Checks of the EC2 instance, its EFA interfaces, security groups and placement."""
