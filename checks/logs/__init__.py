"""Checks of what NCCL, aws-ofi-nccl, libfabric and the device plugin logged."""
