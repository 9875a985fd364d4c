"""Checks of what libfabric sees inside the workload container (the in-pod probe)."""
