from efadoctor import Layer, Severity, Symptom, check, failed, passed
from efadoctor.facts.kube import PodInfo
from efadoctor.facts.resources import bad_resource_names


@check(
    id="POD002",
    title="The pod's EFA and GPU resource names are valid",
    layer=Layer.POD_SPEC,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.PENDING, Symptom.ENODATA),
)
def resource_names_valid(pod: PodInfo):
    """
    ## Why it matters
    The EFA device plugin registers exactly `vpc.amazonaws.com/efa`, and the
    NVIDIA plugin `nvidia.com/gpu`. A bare `vpc.amazonaws.com: 1` or
    `nvidia.com: 8` (a snippet that circulates in runbooks) is rejected by the
    API server; a qualified misspelling such as `aws.amazon.com/efa` is
    accepted but no node offers it, so the pod stays Pending with
    `Insufficient aws.amazon.com/efa` — and if someone "fixes" that by deleting
    the request, the pod runs without EFA devices and sees `fi_getinfo: -61`.

    ## Fix
    Use `vpc.amazonaws.com/efa: N` and `nvidia.com/gpu: N` in both `requests`
    and `limits` of the container that runs the workload.
    """
    evidence, problems = [], []
    for container in pod.containers + pod.init_containers:
        names = set(container.requests) | set(container.limits)
        for bad in bad_resource_names(sorted(names)):
            problems.append((container.name, bad))
            evidence.append(("k8s: Pod spec.containers[].resources", f"{container.name}: {bad.name} — {bad.reason}"))
    if not problems:
        return passed(f"pod {pod.ref} uses only valid EFA/GPU resource names")
    renames = ", ".join(f"{c}: {b.name} -> {b.suggestion or '?'}" for c, b in problems)
    return failed(
        f"pod {pod.ref} asks for misspelled resources ({renames})",
        fix=f"Rename the resources in the pod template of {pod.template_owner} ({renames}), in both requests and limits, and redeploy.",
        commands=[f"kubectl -n {pod.namespace} get pod {pod.name} -o jsonpath='{{.spec.containers[*].resources}}'"],
        evidence=evidence,
    )

