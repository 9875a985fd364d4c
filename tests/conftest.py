"""Shared test setup: tests judge the built-in checks, so installed plugins stay out unless a test asks."""

import pytest


@pytest.fixture(autouse=True)
def _no_plugin_autoload(monkeypatch):
    monkeypatch.setenv("EFADOCTOR_DISABLE_PLUGIN_AUTOLOAD", "1")


@pytest.fixture(scope="session")
def fake_ec2():
    """One moto server per test session (moto's state is per process anyway); tests reset it."""
    from tests.fakes.ec2 import FakeEC2

    with FakeEC2() as server:
        yield server


@pytest.fixture()
def no_aws(monkeypatch):
    """No credentials, region or configuration of the developer's: EC2 cannot be asked, and never hangs on instance metadata."""
    import os

    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture()
def ec2(fake_ec2, no_aws, monkeypatch):
    """An empty fake EC2, the environment that points boto3 at it (and at nothing of the developer's), and a client."""
    import boto3

    fake_ec2.reset()
    for key, value in fake_ec2.env().items():
        monkeypatch.setenv(key, value)
    return boto3.client("ec2")
