from __future__ import annotations

import os

import pytest

# Never let a test reach a real AWS account.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

from moto import mock_aws

from devkit import demo, localstack
from devkit import template as tpl


@pytest.fixture
def aws():
    """moto in process, with every resource template.yaml declares."""
    with mock_aws():
        template = tpl.default()
        localstack.apply_environment(template)
        localstack.create_resources(template)
        yield template
        localstack.reset_caches()


@pytest.fixture
def seeded(aws):
    """The embedded AWS with the demo catalog, clients and tickets."""
    return demo.seed()
