"""A fake EC2 endpoint for efadoctor's tests: moto in server mode, patched so that EFA looks like EFA.

Why a real HTTP endpoint: efadoctor reaches EC2 only through a plain ``boto3.client("ec2")`` configured by
standard settings (``AWS_ENDPOINT_URL``, credentials, region). Serving moto over HTTP and pointing those
settings at it tests the real client path: request signing, the EC2 query protocol, botocore's error
parsing and its retry logic. Nothing in efadoctor knows it is talking to a fake.

Why a patch: stock moto 5.2.5 gets exactly the facts efadoctor checks wrong.

- Every ENI reports ``InterfaceType: interface``; the ``InterfaceType`` argument of RunInstances and
  CreateNetworkInterface is ignored.
- An instance keeps its ENIs in a dict keyed by ``DeviceIndex`` alone, so ENIs on different network cards
  with the same device index overwrite each other (a p5 launched with one EFA per network card lists one
  or two ENIs instead of 32), and ``Attachment.NetworkCardIndex`` is always 0.
- Placement groups do not exist (CreatePlacementGroup/DescribePlacementGroups answer HTTP 500) and
  ``Placement.GroupName`` of RunInstances is dropped.

``apply_efa_patch()`` wraps a handful of moto internals to close those gaps. moto 5.2 serialises its
responses from model attributes, so setting attributes is enough and no XML is written here. The patch
depends on moto internals (pinned: moto 5.2.5); it checks every internal it touches before changing
anything and raises ``MotoPatchError`` naming what changed, so an upgrade fails loudly instead of silently
reporting ``interface`` everywhere.

``FakeEC2`` serves the patched moto on 127.0.0.1 in a background thread and adds what tests of a
diagnosis tool need: a per-request delay (to count sequential round trips), a log of the operations
called, and injected ``UnauthorizedOperation`` / ``RequestLimitExceeded`` errors in EC2's own XML error
format, so botocore parses them exactly as it parses real ones.
"""

from __future__ import annotations

import inspect
import io
import os
import secrets
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple
from xml.sax.saxutils import escape

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "123456789012"  # moto's default account

# ENIs on network card N are stored in moto's per-instance dict under N * _CARD_STRIDE + DeviceIndex,
# so they no longer collide with the ENIs of card 0. Device indexes stay far below the stride.
_CARD_STRIDE = 100
_PATCH_MARK = "_efadoctor_efa_patch"
_patch_lock = threading.Lock()

_PREP_NICS_PARAMS = (
    "self",
    "nic_spec",
    "private_ip",
    "associate_public_ip",
    "security_groups",
    "ipv6_address_count",
)


class MotoPatchError(RuntimeError):
    """The installed moto no longer has the internals the EFA patch wraps."""


class Call(NamedTuple):
    """One request seen by the fake: the operation (``Action`` field) and when it arrived.

    ``at`` is ``time.monotonic()``, so differences between calls measure overlap and ordering.
    """

    action: str
    at: float


def _moto_internals() -> dict[str, Any]:
    """Import the moto objects the patch touches (imported late: moto is slow to import)."""
    from moto.ec2 import utils as ec2_utils
    from moto.ec2.models import elastic_network_interfaces as enis
    from moto.ec2.models import instances
    from moto.ec2.responses import EC2Response
    from moto.ec2.responses.elastic_network_interfaces import ElasticNetworkInterfaces
    from moto.ec2.responses.instances import InstanceResponse

    return {
        "Instance": instances.Instance,
        "InstancePlacement": instances.InstancePlacement,
        "Attachment": enis.Attachment,
        "NetworkInterface": enis.NetworkInterface,
        "ElasticNetworkInterfaces": ElasticNetworkInterfaces,
        "InstanceResponse": InstanceResponse,
        "EC2Response": EC2Response,
        "ec2_utils": ec2_utils,
    }


def check_moto_internals() -> list[str]:
    """Return one sentence per moto internal the EFA patch needs but cannot find; [] if all is there.

    Why: the patch wraps private moto code. Checking names and signatures up front turns a moto upgrade
    that renamed something into a clear failure instead of a fake that quietly reports stock values.
    """
    import moto

    problems: list[str] = []
    try:
        m = _moto_internals()
    except ImportError as exc:  # a module moved
        return [f"cannot import a moto module the patch needs ({exc}); moto {moto.__version__}"]

    def need(owner: Any, name: str) -> Any:
        if not hasattr(owner, name):
            problems.append(f"{getattr(owner, '__name__', owner)}.{name} is missing")
            return None
        return getattr(owner, name)

    prep = need(m["Instance"], "prep_nics")
    if prep is not None:
        params = tuple(inspect.signature(getattr(prep, "__wrapped__", prep)).parameters)
        if params != _PREP_NICS_PARAMS:
            problems.append(f"Instance.prep_nics parameters are {params}, expected {_PREP_NICS_PARAMS}")
    need(m["Instance"], "attach_eni")
    init = m["Attachment"].__init__
    init_params = tuple(inspect.signature(getattr(init, "__wrapped__", init)).parameters)
    if init_params != ("self", "eni"):
        problems.append(f"Attachment.__init__ parameters are {init_params}, expected ('self', 'eni')")
    if "run_instances" not in m["InstanceResponse"].__dict__:
        problems.append("InstanceResponse.run_instances is not defined on InstanceResponse")
    if "create_network_interface" not in m["ElasticNetworkInterfaces"].__dict__:
        problems.append("ElasticNetworkInterfaces.create_network_interface is not defined there")
    if not issubclass(m["EC2Response"], m["InstanceResponse"]):
        problems.append("EC2Response no longer derives from InstanceResponse")
    placement = m["InstancePlacement"]()
    if not hasattr(placement, "group_name"):
        problems.append("InstancePlacement has no group_name attribute")
    mapping = getattr(m["ec2_utils"], "filter_dict_attribute_mapping", None)
    if not isinstance(mapping, dict):
        problems.append("moto.ec2.utils.filter_dict_attribute_mapping is missing")
    if problems:
        problems.append(f"(installed moto {moto.__version__}; the patch was written for moto 5.2.5)")
    return problems


def is_patched() -> bool:
    """True once ``apply_efa_patch()`` has run in this process."""
    from moto.ec2.models.instances import Instance

    return bool(getattr(Instance, _PATCH_MARK, False))


def apply_efa_patch() -> None:
    """Teach the in-process moto EFA interface types, network cards and placement groups. Idempotent.

    Why in-process: the server thread runs in this process, so patching moto's classes here changes
    what the HTTP endpoint answers; boto3 on the client side stays untouched.
    """
    with _patch_lock:
        if is_patched():
            return
        problems = check_moto_internals()
        if problems:
            raise MotoPatchError("EFA patch cannot be applied: " + "; ".join(problems))
        m = _moto_internals()
        _patch_enis(m)
        _patch_placement_groups(m)
        setattr(m["Instance"], _PATCH_MARK, True)


def _strip_ip(eni: Any) -> None:
    """An efa-only ENI is an EFA device without the ENA part: it has no IP address."""
    eni.private_ip_address = None
    eni.private_ip_addresses = []
    if hasattr(eni, "private_dns_name"):
        eni.private_dns_name = None


def _set_interface_type(eni: Any, interface_type: str) -> None:
    eni.interface_type = interface_type
    if interface_type == "efa-only":
        _strip_ip(eni)


def _ec2_error(code: str, message: str) -> Exception:
    from moto.ec2.exceptions import EC2ClientError

    return EC2ClientError(code, message)


def _patch_enis(m: dict[str, Any]) -> None:
    instance_cls = m["Instance"]
    attachment_cls = m["Attachment"]
    eni_responses = m["ElasticNetworkInterfaces"]

    original_prep_nics = instance_cls.prep_nics

    def prep_nics(self: Any, nic_spec: list[dict[str, Any]], *args: Any, **kwargs: Any) -> None:
        """Give each ENI its network card and interface type; key cards > 0 apart from card 0."""
        spec: list[dict[str, Any]] = []
        wanted: dict[int, str | None] = {}
        for nic in nic_spec:
            nic = dict(nic)
            card = int(nic.get("NetworkCardIndex") or 0)
            device = int(nic.get("DeviceIndex") or 0)
            interface_type = None if nic.get("NetworkInterfaceId") else nic.get("InterfaceType")
            if interface_type == "efa-only" and card == 0 and device == 0:
                # EC2 refuses this (the primary interface needs ENA); the wording here is the fake's own.
                raise _ec2_error(
                    "InvalidParameterCombination",
                    "An EFA-only network interface cannot be the primary network interface "
                    "(network card index 0, device index 0).",
                )
            key = card * _CARD_STRIDE + device
            nic["DeviceIndex"] = key
            wanted[key] = interface_type
            spec.append(nic)
        original_prep_nics(self, spec, *args, **kwargs)
        for key, eni in self.nics.items():
            interface_type = wanted.get(key)
            if interface_type:
                _set_interface_type(eni, interface_type)

    prep_nics.__wrapped__ = original_prep_nics  # type: ignore[attr-defined]
    instance_cls.prep_nics = prep_nics

    original_attachment_init = attachment_cls.__init__

    def attachment_init(self: Any, eni: Any) -> None:
        """Report the real device index and the network card instead of moto's constant 0."""
        original_attachment_init(self, eni)
        key = eni.device_index
        if key is not None:
            self.device_index = int(key) % _CARD_STRIDE
            self.network_card_index = int(key) // _CARD_STRIDE

    attachment_init.__wrapped__ = original_attachment_init  # type: ignore[attr-defined]
    attachment_cls.__init__ = attachment_init

    original_create_eni = eni_responses.create_network_interface

    def create_network_interface(self: Any) -> Any:
        """Honour the InterfaceType argument of CreateNetworkInterface."""
        interface_type = self._get_param("InterfaceType")
        result = original_create_eni(self)
        if interface_type:
            _set_interface_type(result.result["NetworkInterface"], interface_type)
        return result

    eni_responses.create_network_interface = create_network_interface


def _placement_groups(backend: Any) -> dict[str, dict[str, Any]]:
    """The placement groups of one moto EC2 backend (account, region).

    Kept in the backend's own ``__dict__`` so that moto's reset, which clears that dict, clears them too.
    """
    return backend.__dict__.setdefault("_efadoctor_placement_groups", {})


_PG_STRATEGIES = ("cluster", "spread", "partition")
_PG_FILTERS = {"group-name": "GroupName", "group-arn": "GroupArn", "strategy": "Strategy", "state": "State"}


def _unknown_pg(name: str) -> Exception:
    return _ec2_error("InvalidPlacementGroup.Unknown", f"The Placement Group '{name}' is unknown.")


def create_placement_group(self: Any) -> Any:
    """CreatePlacementGroup: the group is available at once (real EC2 also answers ``available``)."""
    from moto.core.responses import ActionResult

    name = self._get_param("GroupName")
    strategy = self._get_param("Strategy") or "cluster"
    partition_count = self._get_int_param("PartitionCount")
    spread_level = self._get_param("SpreadLevel")
    tags = self._parse_tag_specification().get("placement-group", {})
    self.error_on_dryrun()
    if not name:
        raise _ec2_error("MissingParameter", "The request must contain the parameter groupName")
    if strategy not in _PG_STRATEGIES:
        raise _ec2_error("InvalidParameterValue", f"Value ({strategy}) for parameter strategy is invalid.")
    store = _placement_groups(self.ec2_backend)
    if name in store:
        raise _ec2_error("InvalidPlacementGroup.Duplicate", f"The placement group '{name}' already exists.")
    backend = self.ec2_backend
    group: dict[str, Any] = {
        "GroupName": name,
        "State": "available",
        "Strategy": strategy,
        "GroupId": "pg-" + secrets.token_hex(9)[:17],
        "GroupArn": f"arn:aws:ec2:{backend.region_name}:{backend.account_id}:placement-group/{name}",
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }
    if strategy == "partition":
        group["PartitionCount"] = partition_count or 2
    if strategy == "spread":
        group["SpreadLevel"] = spread_level or "rack"
    store[name] = group
    return ActionResult({"PlacementGroup": group})


def describe_placement_groups(self: Any) -> Any:
    """DescribePlacementGroups with GroupNames, GroupIds and the common filters."""
    from moto.core.responses import ActionResult

    names = self._get_param("GroupNames", [])
    ids = self._get_param("GroupIds", [])
    filters = self._filters_from_querystring()
    self.error_on_dryrun()
    groups = list(_placement_groups(self.ec2_backend).values())
    known_names = {g["GroupName"] for g in groups}
    known_ids = {g["GroupId"] for g in groups}
    for name in names:
        if name not in known_names:
            raise _unknown_pg(name)
    for group_id in ids:
        if group_id not in known_ids:
            raise _unknown_pg(group_id)
    if names:
        groups = [g for g in groups if g["GroupName"] in names]
    if ids:
        groups = [g for g in groups if g["GroupId"] in ids]
    for filter_name, values in (filters or {}).items():
        field = _PG_FILTERS.get(filter_name)
        if field is None:
            raise _ec2_error("InvalidParameterValue", f"The filter '{filter_name}' is invalid")
        groups = [g for g in groups if g.get(field) in values]
    return ActionResult({"PlacementGroups": groups})


def delete_placement_group(self: Any) -> Any:
    """DeletePlacementGroup."""
    from moto.core.responses import EmptyResult

    name = self._get_param("GroupName")
    self.error_on_dryrun()
    store = _placement_groups(self.ec2_backend)
    if name not in store:
        raise _unknown_pg(name)
    del store[name]
    return EmptyResult()


def _patch_placement_groups(m: dict[str, Any]) -> None:
    instance_responses = m["InstanceResponse"]
    original_run_instances = instance_responses.run_instances

    def run_instances(self: Any) -> Any:
        """Keep RunInstances' Placement.GroupName on the instances (stock moto drops it)."""
        group_name = self._get_param("Placement.GroupName")
        if group_name and group_name not in _placement_groups(self.ec2_backend):
            raise _unknown_pg(group_name)
        result = original_run_instances(self)
        if group_name:
            for instance in result.result.instances:
                instance.placement.group_name = group_name
        return result

    instance_responses.run_instances = run_instances
    ec2_response = m["EC2Response"]
    ec2_response.create_placement_group = create_placement_group
    ec2_response.describe_placement_groups = describe_placement_groups
    ec2_response.delete_placement_group = delete_placement_group
    # DescribeInstances Filters placement-group-name (a documented EC2 filter).
    m["ec2_utils"].filter_dict_attribute_mapping["placement-group-name"] = "placement.group_name"


def _error_xml(code: str, message: str) -> bytes:
    """EC2's query-protocol error envelope, the shape botocore's EC2 parser expects."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"</Error></Errors><RequestID>{uuid.uuid4()}</RequestID></Response>"
    ).encode()


def _action_of(environ: dict[str, Any]) -> str:
    """Name the operation of a request: the ``Action`` field of the query or form body.

    The body is read and put back, so moto still sees it. Requests without ``Action`` (JSON or REST
    services) are named by ``X-Amz-Target`` or by method and path.
    """
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][0]
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0]
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    return f"{environ.get('REQUEST_METHOD', 'GET')} {environ.get('PATH_INFO', '')}"


class FakeEC2:
    """moto (with the EFA patch) served over HTTP on 127.0.0.1, with latency and fault injection.

    Use it as a context manager or with ``start()``/``stop()``; point boto3 at it with ``env()``.
    One instance per test session is cheap to share: ``reset()`` empties moto and the fault rules.
    moto's state is process-global, so two FakeEC2 in one process share their backends.
    """

    def __init__(self, region: str = DEFAULT_REGION, delay_s: float = 0.0) -> None:
        self.region = region
        self.account_id = DEFAULT_ACCOUNT_ID
        self.delay_s = delay_s
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._denied: set[str] = set()
        self._throttled: dict[str, int] = {}
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._moto_app: Callable[..., Any] | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> FakeEC2:
        """Patch moto, bind a free port and serve in a daemon thread; returns self."""
        if self._server is not None:
            return self
        from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        apply_efa_patch()

        class QuietHandler(MotoRequestHandler):
            def log_request(self, code: Any = "-", size: Any = "-") -> None:
                """One access-log line per request would drown test output."""

        self._moto_app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            "127.0.0.1", 0, self._wsgi, threaded=True, request_handler=QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-ec2", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeEC2:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- configuration for clients ---------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeEC2 is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment that points boto3 (in-process or in a subprocess) at this fake.

        Without ``base``: only the variables to set. With ``base`` (e.g. ``os.environ``): a full
        environment for a subprocess, where every ``AWS_*`` variable of ``base`` (``AWS_PROFILE``,
        session tokens, other endpoints) is dropped first, and the shared config and credentials files
        point at the null device so a developer's own AWS configuration cannot leak into a test.
        """
        ours = {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        if base is None:
            return ours
        merged = {k: v for k, v in base.items() if not k.startswith("AWS_")}
        merged.update(ours)
        merged["AWS_CONFIG_FILE"] = os.devnull
        merged["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
        return merged

    # -- state ---------------------------------------------------------------------------------
    def reset(self) -> None:
        """Empty moto (its reset API) and forget denials, throttles, the delay and the call log."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
        with self._lock:
            self._denied.clear()
            self._throttled.clear()
            self._calls.clear()
            self.delay_s = 0.0

    @property
    def calls(self) -> list[Call]:
        """Every AWS request received since the last reset, in arrival order (a copy)."""
        with self._lock:
            return list(self._calls)

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def actions(self) -> list[str]:
        """Just the operation names of ``calls``."""
        return [call.action for call in self.calls]

    # -- fault injection -----------------------------------------------------------------------
    def deny(self, *actions: str) -> None:
        """From now on, answer these operations ``UnauthorizedOperation`` (HTTP 403), like IAM does."""
        with self._lock:
            self._denied.update(actions)

    def allow(self, *actions: str) -> None:
        """Undo ``deny`` for these operations."""
        with self._lock:
            self._denied.difference_update(actions)

    def throttle(self, action: str, times: int) -> None:
        """Answer the next ``times`` requests for ``action`` with ``RequestLimitExceeded`` (HTTP 503)."""
        with self._lock:
            self._throttled[action] = self._throttled.get(action, 0) + times

    def _fault_for(self, action: str) -> tuple[str, bytes] | None:
        """Pick the injected answer for this request, if any (called with the lock held)."""
        if action in self._denied:
            message = (
                "You are not authorized to perform this operation. "
                f"User: arn:aws:iam::{self.account_id}:user/test is not authorized to perform: "
                f"ec2:{action} because no identity-based policy allows the ec2:{action} action"
            )
            return "403 Forbidden", _error_xml("UnauthorizedOperation", message)
        left = self._throttled.get(action, 0)
        if left > 0:
            self._throttled[action] = left - 1
            return "503 Service Unavailable", _error_xml("RequestLimitExceeded", "Request limit exceeded.")
        return None

    # -- the WSGI application --------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        assert self._moto_app is not None
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            return self._moto_app(environ, start_response)  # control requests: not AWS calls
        action = _action_of(environ)
        with self._lock:
            self._calls.append(Call(action, time.monotonic()))
            fault = self._fault_for(action)
        if self.delay_s:
            time.sleep(self.delay_s)
        if fault is None:
            return self._moto_app(environ, start_response)
        status, body = fault
        start_response(
            status,
            [("Content-Type", "text/xml;charset=UTF-8"), ("Content-Length", str(len(body)))],
        )
        return [body]
