"""Checks of the workload pod's spec and state, from the Kubernetes API."""
