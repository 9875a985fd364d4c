from efadoctor import Confidence, Layer, Severity, Symptom, check, failed, passed, skipped, unknown
from efadoctor.checks.pod.pod_env_fi_provider_efa import allows_efa
from efadoctor.checks.probe._probe import located, quote, run_here, unknown_reason
from efadoctor.checks.probe.fi_info_present import INSTALL
from efadoctor.facts.kube import ContainerInfo, PodInfo
from efadoctor.parsers.probe_output import EFA_ALWAYS_LISTED_SINCE, ProbeReport


def visible_efa_devices(report: ProbeReport) -> tuple[str, ...] | None:
    """EFA devices this container can open: in sysfs (driver efa) and with their uverbs node in /dev.

    libibverbs lists a device only when its /dev/infiniband/uverbsN exists (rdma-core
    libibverbs/init.c); None when the probe did not say enough to know.
    """
    efa, uverbs, verbs = report.sysfs_efa_devices.value, report.uverbs_devices.value, report.sysfs_verbs.value
    if efa is None or uverbs is None or verbs is None:
        return None
    present = set(uverbs)
    return tuple(device for node, device in verbs if node in present and device in efa)


@check(
    id="PRB002",
    title="The image's libfabric has the efa provider",
    layer=Layer.IMAGE,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.ENODATA, Symptom.SOCKET_FALLBACK),
    caused_by=("PRB001",),
    targets=("pod", "local"),
)
def efa_provider_compiled_in(probe_report: ProbeReport, pod: PodInfo | None = None, workload_container: ContainerInfo | None = None):
    """
    ## Why it matters
    A libfabric built without the `efa` provider (some distribution and
    pip/conda builds, a source build without efa), or an image without rdma-core's EFA
    driver, answers `fi_info -p efa` with `fi_getinfo: -61` even on a node
    whose EFA devices are all passed in, and NCCL then falls back to sockets.

    How this is decided, from `fi_info -l` and `fi_info --version`:
    - `efa` listed: the provider is there.
    - libfabric 2.1.0 or later: it lists `efa` whether or not it sees a
      device (ofiwg/libfabric b7b9dd697), so `efa` missing means missing.
    - Before 2.1.0, libfabric leaves `efa` out of the list whenever it sees no
      usable EFA device, so an unlisted `efa` alone proves nothing (nor when
      `FI_PROVIDER` leaves efa out, which PRB005 reports). It is read
      as "the image's libfabric has no (usable) efa provider" only when the
      container does have EFA devices (a uverbs node in /dev/infiniband whose
      sysfs device is bound to the efa driver), or when the image has no
      `libefa` at all, which libfabric's efa provider needs (medium
      confidence: libefa may sit where the probe does not look). The EFA
      installer's own builds (`amzn` in the version) always include efa.
      Otherwise the result is "could not tell", and the device checks say why
      no device is visible. (Debian bookworm's libfabric 1.17, for example,
      does include efa and links libefa, yet lists neither efa nor verbs on a
      machine without RDMA devices.)

    ## Fix
    Use the EFA installer's libfabric (`/opt/amazon/efa`) in the image:
    `./efa_installer.sh -y -g -d --skip-kmod --skip-limit-conf --no-verify`,
    and make sure the application loads it (`LD_LIBRARY_PATH` with
    `/opt/amazon/efa/lib` before any other libfabric).
    """
    compiled = probe_report.efa_provider_compiled_in
    if probe_report.fi_info_present.value is False:
        return skipped(f"fi_info is not {located(pod, workload_container)}: PRB001 reports that")
    provider = probe_report.env_var("FI_PROVIDER").value
    if provider is not None and not allows_efa(provider) and compiled.value is not True:
        # FI_PROVIDER also hides efa from `fi_info -l`: the list says nothing about the build
        return skipped(f"FI_PROVIDER={provider} hides efa from fi_info -l {located(pod, workload_container)}: PRB005 reports that")
    at = located(pod, workload_container)
    version = probe_report.fi_info_version.value
    shown = version.libfabric if version is not None and version.libfabric else "of unknown version"
    evidence = quote(compiled.evidence, workload_container)
    if compiled.value is True:
        return passed(f"the libfabric {at} ({shown}) lists the efa provider", evidence=evidence)
    fix = ("Install the EFA installer's libfabric in the image (it is built with efa) and put /opt/amazon/efa/lib first on "
           "LD_LIBRARY_PATH, so the application loads it rather than another libfabric.")
    commands = [*INSTALL, run_here(pod, workload_container, ["fi_info", "-l"])]
    if compiled.value is False:
        return failed(
            f"the image's libfabric has no efa provider: libfabric {shown} {at} does not list efa, and libfabric >= "
            f"{'.'.join(map(str, EFA_ALWAYS_LISTED_SINCE))} lists it even without an EFA device",
            fix=fix,
            commands=commands,
            evidence=evidence,
        )
    if probe_report.efa_provider_listed.value is None:
        return unknown(unknown_reason(probe_report, compiled, "whether libfabric has the efa provider"))
    # Not listed by a libfabric older than 2.1.0: decide from what else the probe saw.
    if version is not None and version.amazon_build:
        return passed(
            f"libfabric {shown} {at} is the EFA installer's build, which includes efa; it leaves efa out of "
            "`fi_info -l` only because it sees no usable EFA device (see the device checks)",
            evidence=evidence,
        )
    devices = visible_efa_devices(probe_report)
    if devices:
        device_evidence = quote(probe_report.uverbs_devices.evidence, workload_container, limit=4)
        device_evidence += quote(probe_report.sysfs_efa_devices.evidence, workload_container, limit=4)
        return failed(
            f"the image's libfabric has no usable efa provider: libfabric {shown} {at} does not list efa although the "
            f"container has {len(devices)} EFA device(s) ({', '.join(devices[:4])}{', ...' if len(devices) > 4 else ''}): "
            "it is built without efa, or the image lacks rdma-core's EFA driver (libefa)",
            fix=fix,
            commands=commands,
            evidence=evidence + device_evidence,
        )
    libs = probe_report.found_libraries
    names = [p.rsplit("/", 1)[-1] for p in libs.value or ()]
    if libs.value is not None and libs.note is None and any(n.startswith("libfabric.so") for n in names) and not any(n.startswith("libefa.so") for n in names):
        return failed(
            f"the image's libfabric has no efa provider: libfabric {shown} {at} does not list efa, and the image has no "
            "libefa (rdma-core's EFA library, which libfabric's efa provider needs) where the probe looked",
            fix=fix,
            commands=commands,
            evidence=evidence + quote(libs.evidence, workload_container, limit=6),
            confidence=Confidence.MEDIUM,
        )
    return unknown(unknown_reason(probe_report, compiled, "whether libfabric has the efa provider"), evidence=evidence)
