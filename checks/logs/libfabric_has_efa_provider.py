from efadoctor import Confidence, Layer, Severity, Symptom, check, failed, passed, skipped, unknown, warned
from efadoctor.checks.logs._logs import efa_expectation, in_container, on_hosts, quote, signature_lines
from efadoctor.checks.probe.fi_info_present import INSTALLER
from efadoctor.facts.kube import ContainerInfo, PodInfo
from efadoctor.facts.logs import ExpectedInstanceType
from efadoctor.parsers.fi_info import release_of
from efadoctor.parsers.logs import LogFacts
from efadoctor.parsers.probe_output import EFA_ALWAYS_LISTED_SINCE


@check(
    id="LOG005",
    title="The libfabric in the log (fi_info -l) has the efa provider",
    layer=Layer.IMAGE,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.ENODATA, Symptom.SOCKET_FALLBACK),
    caused_by=("PRB002",),  # the probe runs the same `fi_info -l` in the container
    targets=("logs", "pod"),
)
def libfabric_has_efa_provider(
    log_facts: LogFacts,
    expected_instance_type: ExpectedInstanceType | None = None,
    pod: PodInfo | None = None,
    workload_container: ContainerInfo | None = None,
):
    """
    ## Why it matters
    `fi_info -l` lists the providers libfabric registered. A build without
    the efa provider (some pip or conda wheels, a source build without efa)
    has no `efa:` entry, and then `fi_info -p efa` and aws-ofi-nccl can only
    fail with -61, even on a node whose EFA devices the container sees.
    (The reverse does not hold: the efa provider may be listed while
    `fi_info -p efa` still returns -61, libfabric PR #10794.) An unlisted
    `efa` proves a build without it only for
    libfabric 2.1.0 and later: before that (ofiwg/libfabric b7b9dd697) the
    provider left itself out of the list whenever it saw no usable EFA
    device, so on an older libfabric, or when the log shows no
    `fi_info --version`, the check cannot tell (Debian's 1.17 includes efa
    and links libefa, yet lists neither efa nor verbs on a machine without
    RDMA devices). The EFA installer's builds (`amzn` in the version)
    always include efa.

    ## Fix
    Install the EFA user space in the image, as AWS's training images do:
    `./efa_installer.sh -y -g -d --skip-kmod --skip-limit-conf --no-verify`,
    and put `/opt/amazon/efa/lib` first on `LD_LIBRARY_PATH` so it is the
    libfabric the job loads.
    """
    listed = [h for h in log_facts.hosts if h.fi_info.listed_providers]
    if not listed:
        return skipped("the log holds no `fi_info -l` output")
    without = [h for h in listed if "efa" not in h.fi_info.listed_providers]
    if not without:
        evidence = [e for h in listed for e in quote(h, signature_lines(h, "fi_info_list"), 1)]
        return passed(f"fi_info -l lists the efa provider{on_hosts([h.host for h in listed])}", evidence=evidence[:4])
    providers = sorted({p for h in without for p in h.fi_info.listed_providers})
    versions = sorted({v for h in without for v in h.fi_info.libfabric_versions})
    evidence = [e for h in without for e in quote(h, signature_lines(h, "fi_info_list"), 2)][:6]
    expectation = efa_expectation(log_facts, expected_instance_type)
    if expectation.expected is False:
        return passed(f"fi_info -l lists no efa provider; {expectation.reason}, so none is needed", evidence=evidence)
    releases = [release_of(v) for v in versions]
    if versions and all("amzn" in v for v in versions):
        return passed(
            f"libfabric {'/'.join(versions)} is the EFA installer's build, which includes efa; it leaves efa out of "
            "`fi_info -l` only when it sees no usable EFA device (see the device checks)",
            evidence=evidence,
        )
    if not releases or not all(r is not None and r >= EFA_ALWAYS_LISTED_SINCE for r in releases):
        since = ".".join(map(str, EFA_ALWAYS_LISTED_SINCE))
        which = f"libfabric {'/'.join(versions)}" if versions else "a libfabric whose version the log does not show"
        return unknown(
            f"fi_info -l{on_hosts([h.host for h in without])} lists no efa provider, but {which} may simply see no EFA "
            f"device: before {since} libfabric leaves efa out of the list then. Run `fi_info -l` where the EFA devices "
            "are visible, or `fi_info --version` to tell",
            evidence=evidence,
        )
    evidence += list(expectation.evidence)
    summary = (
        f"fi_info -l{on_hosts([h.host for h in without])} lists no efa provider "
        f"({', '.join(providers[:8])}{', ...' if len(providers) > 8 else ''})"
        + (f"; libfabric {'/'.join(versions)}" if versions else "")
        + ": this libfabric cannot use EFA, fi_getinfo for efa returns -61"
    )
    fix = (
        f"Install the EFA user space in the image (`{INSTALLER}` from the EFA installer) and put /opt/amazon/efa/lib "
        "first on LD_LIBRARY_PATH; then check which libfabric the job loads:"
    )
    commands = [in_container(pod, workload_container, ["sh", "-c", "fi_info --version; fi_info -l | grep -x efa:"])]
    if expectation.expected is None:  # nothing says EFA was meant, but a log given to an EFA doctor usually is
        return warned(summary, fix=fix, commands=commands, evidence=evidence, confidence=Confidence.MEDIUM)
    return failed(summary + f" although {expectation.reason}", fix=fix, commands=commands, evidence=evidence)
