"""Checks of the node and the EFA device plugin, from the Kubernetes API."""
