"""Read-only EC2 access for one run: one boto3 session, one EC2 client, every call recorded.

Why one door: the report's `api_calls`, the IAM policy in docs/iam-policy.json and the promise that
efadoctor never changes anything all rest on every AWS request passing through `AwsAccess.call`.
It refuses any operation that is not a Describe*, records each call (operation, duration, outcome)
and turns botocore's failures into `FactUnavailable` reasons a person can act on: the missing IAM
action, throttling that outlasted the retries, absent or expired credentials, an unreachable endpoint.

Configuration is the standard one only: boto3's credential chain, `--profile` (as the AWS CLI),
the region from `--region` or the node's zone, and `AWS_ENDPOINT_URL` if set. boto3 is imported
when the session is first needed, never at module import, so `efadoctor --help` stays fast.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from ..model import FactUnavailable, UsageError

READ_ONLY_PREFIX = "Describe"
# botocore standard retry mode, 3 attempts in all (its default): the first try plus two retries with
# backoff. `total_max_attempts` counts the first try; the older `max_attempts` key counts only retries.
MAX_ATTEMPTS = 3

_DENIED = frozenset({"UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "UnauthorizedAccess"})
_BAD_CREDENTIALS = frozenset(
    {
        "AuthFailure",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "InvalidToken",
        "OptInRequired",
    }
)
# the codes botocore's standard retry mode treats as throttling (botocore.retries.standard)
_THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
CREDENTIALS_HINT = (
    "pass --profile PROFILE (as for the AWS CLI), set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
    "or run where an instance or pod role is available"
)


class AwsNotFound(FactUnavailable):
    """EC2 says the named resource does not exist (InvalidInstanceID.NotFound and friends)."""

    def __init__(self, reason: str, code: str):
        super().__init__(reason)
        self.code = code


@dataclass(frozen=True)
class AwsConfig:
    """Which AWS identity configuration this run uses (never the secrets themselves)."""

    profile: str | None
    default_region: str | None  # the session's own region (AWS_REGION, the profile); the node's zone wins
    credentials: str | None  # how botocore found them: "env", "shared-credentials-file", "sso", "iam-role", ...


class AwsAccess:
    """The session, the EC2 client and their failures, built once per run and shared by all collectors."""

    def __init__(self, options: Any, recorder: Any):
        self._options = options
        self._recorder = recorder
        self._lock = threading.Lock()
        self._session: Any = None
        self._config: AwsConfig | None = None
        self._error: BaseException | None = None
        self._clients: dict[str | None, Any] = {}

    # -- the session -----------------------------------------------------------------------------
    def config(self) -> AwsConfig:
        """Build the session once (and load the EC2 service model), or re-raise why it cannot be built.

        Loading the model here, off the critical path, is what lets the first Describe call start
        as soon as the node's instance id is known.
        """
        with self._lock:
            if self._config is None and self._error is None:
                try:
                    self._config = self._build()
                except (FactUnavailable, UsageError) as error:
                    self._error = error
            if self._error is not None:
                raise self._error
            assert self._config is not None
            return self._config

    def _build(self) -> AwsConfig:
        import boto3
        import botocore.exceptions
        import botocore.session

        profile = self._options.profile
        core = botocore.session.get_session()
        try:
            session = boto3.Session(botocore_session=core, profile_name=profile)
        except botocore.exceptions.ProfileNotFound as error:
            if profile:
                raise UsageError(f"AWS profile {profile!r} is not configured (see `aws configure list-profiles`)") from error
            raise FactUnavailable(f"the AWS profile named by AWS_PROFILE is not configured: {error}") from error
        _warm(core)
        try:
            credentials = session.get_credentials()
        except botocore.exceptions.BotoCoreError as error:
            raise FactUnavailable(f"cannot load AWS credentials: {error}; {CREDENTIALS_HINT}") from error
        if credentials is None:
            raise FactUnavailable(f"no AWS credentials found: {CREDENTIALS_HINT}")
        self._session = session
        return AwsConfig(profile, session.region_name, getattr(credentials, "method", None))

    def _client(self, region: str | None) -> Any:
        self.config()
        with self._lock:
            if region not in self._clients:
                import botocore.exceptions
                from botocore.config import Config

                from .. import __version__

                timeout = float(getattr(self._options, "timeout_s", 30.0) or 30.0)
                config = Config(
                    retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
                    connect_timeout=min(5.0, timeout),
                    read_timeout=min(20.0, timeout),
                    user_agent_extra=f"efadoctor/{__version__}",
                )
                try:
                    self._clients[region] = self._session.client("ec2", region_name=region, config=config)
                except botocore.exceptions.NoRegionError as error:
                    raise FactUnavailable("no AWS region: pass --region, or set AWS_REGION or a region in the profile") from error
            return self._clients[region]

    # -- calls -------------------------------------------------------------------------------------
    def call(self, operation: str, *, region: str | None, **params: Any) -> dict[str, Any]:
        """One EC2 Describe* request, recorded, with botocore's failures mapped to FactUnavailable."""
        if not operation.startswith(READ_ONLY_PREFIX):
            raise ValueError(f"efadoctor is read-only: refusing ec2:{operation}")
        import botocore.exceptions
        from botocore import xform_name

        client = self._client(region)
        started = time.perf_counter()
        try:
            response = getattr(client, xform_name(operation))(**params)
        except botocore.exceptions.ClientError as error:
            code = str(error.response.get("Error", {}).get("Code") or "ClientError")
            retries = int(error.response.get("ResponseMetadata", {}).get("RetryAttempts") or 0)
            self._record(operation, started, ok=False, error=code, params=params, retries=retries)
            raise _client_error(operation, code, error, retries) from error
        except botocore.exceptions.NoCredentialsError as error:
            self._record(operation, started, ok=False, error=type(error).__name__, params=params)
            raise FactUnavailable(f"no AWS credentials found: {CREDENTIALS_HINT}") from error
        except (botocore.exceptions.HTTPClientError, botocore.exceptions.EndpointConnectionError) as error:
            self._record(operation, started, ok=False, error=type(error).__name__, params=params)
            endpoint = getattr(client.meta, "endpoint_url", "the EC2 endpoint")
            raise FactUnavailable(f"cannot reach {endpoint} for ec2:{operation}: {error}") from error
        except botocore.exceptions.ParamValidationError:
            self._record(operation, started, ok=False, error="ParamValidationError", params=params)
            raise  # a bug in efadoctor, not an outage: let it show as ERROR
        except botocore.exceptions.BotoCoreError as error:  # expired SSO token, credential process failure, ...
            self._record(operation, started, ok=False, error=type(error).__name__, params=params)
            raise FactUnavailable(f"ec2:{operation} could not be sent: {error}; {CREDENTIALS_HINT}") from error
        retries = int(response.get("ResponseMetadata", {}).get("RetryAttempts") or 0)
        self._record(operation, started, ok=True, params=params, retries=retries)
        return response

    def pages(self, operation: str, result_key: str, *, region: str | None, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paginated Describe*, following NextToken (each page is one recorded call)."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            response = self.call(operation, region=region, **params, **({"NextToken": token} if token else {}))
            items.extend(response.get(result_key) or [])
            token = response.get("NextToken")
            if not token:
                return items

    def _record(
        self, operation: str, started: float, *, ok: bool, params: dict[str, Any], error: str | None = None, retries: int = 0
    ) -> None:
        detail = _describe_params(params)
        if retries:
            detail = f"{detail}; retried {retries}x" if detail else f"retried {retries}x"
        self._recorder.record("ec2", operation, time.perf_counter() - started, ok=ok, error=error, detail=detail or None)


def _warm(core: Any) -> None:
    """Load, before the region is known, the data files every EC2 client reads (its model, endpoints,
    partitions, endpoint rules). The session's loader caches them, so building the client once the
    node names the region costs ~15 ms instead of ~100 ms on the critical path."""
    try:
        loader = core.get_component("data_loader")
        core.get_service_model("ec2")
        loader.load_data_with_path("endpoints")
        loader.load_data("partitions")
        loader.load_service_model("ec2", "endpoint-rule-set-1")
    except Exception:  # noqa: BLE001 - only a head start: the client loads whatever is missing itself
        return


def access(context: Any) -> AwsAccess:
    """The run's shared AwsAccess (built on first use, under the context's lock)."""
    return context.client("aws", lambda: AwsAccess(context.options, context.recorder))


def _describe_params(params: dict[str, Any]) -> str:
    parts = []
    for key, value in params.items():
        if key == "NextToken":
            continue
        if key == "Filters":
            value = [f"{f.get('Name')}={','.join(map(str, f.get('Values', [])))}" for f in value]
        if isinstance(value, (list, tuple)):
            shown = ",".join(map(str, value[:5])) + (f",+{len(value) - 5}" if len(value) > 5 else "")
            parts.append(f"{key}={shown}")
        else:
            parts.append(f"{key}={value}")
    return " ".join(parts)


def _client_error(operation: str, code: str, error: Any, retries: int) -> FactUnavailable:
    message = str(error.response.get("Error", {}).get("Message") or "").strip()
    first_line = message.splitlines()[0][:300] if message else code
    if code in _DENIED:
        return FactUnavailable(
            f"not allowed to call ec2:{operation} ({code}); grant it to this identity "
            "(docs/iam-policy.json lists every action efadoctor uses)",
            missing_permission=f"ec2:{operation}",
        )
    if code in _THROTTLED:
        return FactUnavailable(
            f"EC2 throttled ec2:{operation} ({code}) and {retries + 1} attempts did not get through; run again in a minute"
        )
    if code in _BAD_CREDENTIALS:
        return FactUnavailable(
            f"AWS rejected the credentials for ec2:{operation} ({code}: {first_line}); "
            f"refresh them (for example `aws sso login`) or {CREDENTIALS_HINT}"
        )
    if code.endswith(".NotFound") or code.endswith(".Unknown") or code.endswith(".Malformed"):
        return AwsNotFound(f"{code}: {first_line}", code)
    return FactUnavailable(f"ec2:{operation} failed: {code}: {first_line}")
