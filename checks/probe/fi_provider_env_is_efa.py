from efadoctor import Layer, Severity, Symptom, check, failed, passed, unknown
from efadoctor.checks.pod.pod_env_fi_provider_efa import allows_efa
from efadoctor.checks.probe._probe import located, not_set, quote, run_here, unknown_reason, unset_here
from efadoctor.facts.kube import ContainerInfo, PodInfo
from efadoctor.parsers.probe_output import ProbeReport


@check(
    id="PRB005",
    title="FI_PROVIDER in the container is unset or allows efa",
    layer=Layer.RUNTIME,
    severity=Severity.HIGH,
    symptoms=(Symptom.ENODATA, Symptom.SOCKET_FALLBACK, Symptom.DEGRADED),
    caused_by=("POD009",),  # the pod spec sets it: the same finding, seen from inside
    targets=("pod", "local"),
)
def fi_provider_env_is_efa(probe_report: ProbeReport, pod: PodInfo | None = None, workload_container: ContainerInfo | None = None):
    """
    ## Why it matters
    `FI_PROVIDER` restricts libfabric to the providers it names, so a value
    that leaves out `efa` (`tcp`, `sockets`, `verbs`, `^efa`) hides EFA from
    every libfabric user in the container: `fi_info -p efa` answers
    `fi_getinfo: -61`, and aws-ofi-nccl runs over TCP (slow) or fails and
    NCCL falls back to sockets. The probe reads the variable as the process
    sees it, including values that come from the image, a ConfigMap or an
    entrypoint script, which the pod spec alone does not show. Unset is
    right: on EC2 aws-ofi-nccl selects `efa` by itself.

    ## Fix
    Remove `FI_PROVIDER` from the container's environment (pod spec, image
    `ENV`, or entrypoint), or set it to `efa`.
    """
    env = probe_report.env
    if env.value is None:
        return unknown(unknown_reason(probe_report, env, "the container's environment"))
    value = probe_report.env_var("FI_PROVIDER")
    at = located(pod, workload_container)
    if value.value is None:
        if env.note:  # the listing was cut: the variable may be in the part that did not arrive
            return unknown(unknown_reason(probe_report, env, "the container's environment"))
        return passed(f"FI_PROVIDER is not set {at}: libfabric may use efa (aws-ofi-nccl selects it on EC2)",
                      evidence=[not_set(workload_container, "FI_PROVIDER")])
    evidence = quote(value.evidence, workload_container)
    if allows_efa(value.value):
        return passed(f"FI_PROVIDER={value.value} {at} allows efa", evidence=evidence)
    return failed(
        f"FI_PROVIDER={value.value} {at} excludes efa: libfabric hides EFA from the application "
        "(fi_info -p efa gives -61; NCCL runs over TCP or falls back to sockets)",
        fix="Remove FI_PROVIDER from the container's environment (the pod spec, the image's ENV or its entrypoint): "
        "on EC2 aws-ofi-nccl selects efa by itself. Then confirm:",
        commands=[*unset_here(pod, workload_container, "FI_PROVIDER"), run_here(pod, workload_container, ["printenv", "FI_PROVIDER"])],
        evidence=evidence,
    )
