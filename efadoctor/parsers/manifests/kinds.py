"""Which object a document is: a Karpenter NodePool or EC2NodeClass, the EFA device plugin or its values.

The lint checks that compare objects with each other (pools with node classes, pools with the
device plugin) need one shared answer to "is this that object", however it was installed.
"""

from __future__ import annotations

import os

from .pod_specs import find_pod_specs
from .values import Document


def api_group(doc: Document) -> str:
    """The API group of `doc` ("" for the core group, e.g. `v1`)."""
    version = doc.api_version or ""
    return version.rsplit("/", 1)[0] if "/" in version else ""


def is_nodepool(doc: Document) -> bool:
    """A Karpenter NodePool (karpenter.sh; v1, or the older v1beta1 with the same kind)."""
    return doc.kind == "NodePool" and api_group(doc) == "karpenter.sh"


def is_ec2nodeclass(doc: Document) -> bool:
    """A Karpenter EC2NodeClass (karpenter.k8s.aws; v1, or the older v1beta1)."""
    return doc.kind == "EC2NodeClass" and api_group(doc) == "karpenter.k8s.aws"


_DEVICE_PLUGIN = "aws-efa-k8s-device-plugin"


def is_efa_device_plugin_daemonset(doc: Document) -> bool:
    """A DaemonSet running the EFA device plugin, however it was installed.

    Helm, the aws-samples manifest, eksctl and HyperPod name the DaemonSet differently, but its
    container is named `aws-efa-k8s-device-plugin` or runs an image of that name (mirrors included).
    """
    if doc.kind != "DaemonSet":
        return False
    for ref in find_pod_specs(doc):
        for container in ref.containers:
            image = container.get("image")
            if container.get("name") == _DEVICE_PLUGIN or (isinstance(image, str) and _DEVICE_PLUGIN in image):
                return True
    return False


def looks_like_device_plugin_values(doc: Document) -> bool:
    """A Helm values file for the aws-efa-k8s-device-plugin chart, not a Kubernetes object.

    `supportedInstanceLabels` is this chart's own key; an `image.repository` naming the plugin is
    too. `tolerations` alone is common to every chart, so it counts only in a file named for EFA.
    """
    body = doc.body
    if "kind" in body or "apiVersion" in body:
        return False
    if "supportedInstanceLabels" in body:
        return True
    image = body.get("image")
    repository = image.get("repository") if isinstance(image, dict) else None
    if isinstance(repository, str) and _DEVICE_PLUGIN in repository:
        return True
    return "tolerations" in body and "efa" in os.path.basename(doc.source).lower()
