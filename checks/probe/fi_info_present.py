from efadoctor import Layer, Severity, Symptom, check, failed, passed, unknown
from efadoctor.checks.probe._probe import located, quote, unknown_reason
from efadoctor.facts.kube import ContainerInfo, PodInfo
from efadoctor.parsers.probe_output import ProbeReport

# The EFA user space for an image (no kernel module, no host limits file), as AWS's training Dockerfiles install it.
INSTALLER = "./efa_installer.sh -y -g -d --skip-kmod --skip-limit-conf --no-verify"
INSTALL = [
    "curl -fsSLO https://efa-installer.amazonaws.com/aws-efa-installer-latest.tar.gz",
    f"tar -xf aws-efa-installer-latest.tar.gz && cd aws-efa-installer && {INSTALLER}",
]


@check(
    id="PRB001",
    title="fi_info is in the image (the EFA user space is installed)",
    layer=Layer.IMAGE,
    severity=Severity.HIGH,
    symptoms=(Symptom.ENODATA, Symptom.SOCKET_FALLBACK),
    targets=("pod", "local"),
)
def fi_info_present(probe_report: ProbeReport, pod: PodInfo | None = None, workload_container: ContainerInfo | None = None):
    """
    ## Why it matters
    `fi_info` is libfabric's own tool; the EFA installer puts it at
    `/opt/amazon/efa/bin/fi_info` together with the libfabric that has the
    `efa` provider. An image without it usually lacks the EFA user space
    altogether, and then NCCL finds no EFA and quietly uses sockets. Without
    `fi_info` efadoctor also cannot ask libfabric whether it sees EFA
    devices (`fi_info -p efa -t FI_EP_RDM`), which is the test that decides
    `fi_getinfo: -61`. On a node (not in a pod), a missing `fi_info` is
    normal on the EKS AL2023 AMIs: they install EFA with `--minimal`
    (kernel module and rdma-core only); run the probe in the workload image.

    ## Fix
    Install the EFA user space in the image (Dockerfile `RUN`), as AWS's
    training images do, and put `/opt/amazon/efa/lib` (and the plugin's
    `/opt/amazon/ofi-nccl/lib/<arch>`) on `LD_LIBRARY_PATH`:
    `./efa_installer.sh -y -g -d --skip-kmod --skip-limit-conf --no-verify`.
    """
    present = probe_report.fi_info_present
    if present.value is None:
        return unknown(unknown_reason(probe_report, present, "whether fi_info exists"))
    evidence = quote(present.evidence, workload_container)
    at = located(pod, workload_container)
    if present.value:
        path = probe_report.fi_info_path.value or "fi_info"
        version = probe_report.fi_info_version.value
        shown = f" (libfabric {version.libfabric})" if version is not None and version.libfabric else ""
        return passed(f"fi_info is {at}: {path}{shown}", evidence=evidence)
    libs = probe_report.found_libraries.value or ()
    libfabric = [p for p in libs if p.rsplit("/", 1)[-1].startswith("libfabric.so")]
    evidence += quote(probe_report.found_libraries.evidence, workload_container, limit=5)
    if libfabric:
        return unknown(
            f"fi_info is not {at} (not on PATH, not at /opt/amazon/efa/bin/fi_info), though a libfabric is "
            f"({', '.join(libfabric[:3])}): efadoctor cannot ask that libfabric whether it has efa and sees EFA devices",
            evidence=evidence,
        )
    return failed(
        f"fi_info is not {at} (not on PATH, not at /opt/amazon/efa/bin/fi_info) and no libfabric was found: "
        "the image lacks the EFA user space",
        fix="Install the EFA user space in the image with the EFA installer (in the Dockerfile, as one RUN step), "
        "then put /opt/amazon/efa/lib and the aws-ofi-nccl plugin's directory on LD_LIBRARY_PATH and rebuild the image.",
        commands=INSTALL,
        evidence=evidence,
    )
