"""`efadoctor run --node` on a big cluster: 1,000 nodes and 5,000 pods (a script, not a test).

The Kubernetes layer must cost the same on a 1,000-node cluster as on a 3-node one: one list call per
resource kind (the plugin DaemonSets once, cluster-wide; the target node's pods by field selector), none
per item, and no typed-model deserialization of big lists. This script serves such a cluster from the
fake API server (EKS-shaped objects: p5.48xlarge GPU nodes tainted `nvidia.com/gpu`, CPU nodes, one
device-plugin pod per GPU node with its log, training pods) and the target node's instance from the
fake EC2, then runs the real `efadoctor` command in a fresh process, as a user would, and prints its
wall time and the API calls it made. Goal: under 2 s of efadoctor time.

    python -m benchmarks.bench_large_cluster [--nodes 1000] [--pods 5000] [--runs 5] [--delay-ms 0] [--only K8S]

With --delay-ms D every Kubernetes and EC2 request is delayed by D; the script then also runs once
without delay and prints (wall_D - wall_0) / D, the number of sequential request rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

from tests.fakes import ec2_scenarios
from tests.fakes import kube_objects as k
from tests.fakes.ec2 import FakeEC2
from tests.fakes.kube import FakeKube

GPU_TAINT = "nvidia.com/gpu=true:NoSchedule"
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
PLUGIN_LOG = "".join(
    f"2024/05/24 23:12:29 device: rdmap{79 + i}s0,uverbs{i},/sys/class/infiniband_verbs/uverbs{i},/sys/class/infiniband/rdmap{79 + i}s0\n"
    for i in range(32)
) + "2024/05/24 23:12:29 Registered device plugin with Kubelet\n"


def build_cluster(nodes: int, pods: int, target: str, target_instance: str) -> tuple[list[dict], list[tuple[str, str]]]:
    """EKS-shaped objects; returns them and the (namespace, pod) of every plugin pod, for its log."""
    gpu_nodes = nodes * 3 // 4
    # the target's name is its EC2 private DNS name (10.0.x.x); the others live in 10.200.0.0/16
    names = [target] + [f"ip-10-200-{i // 250}-{i % 250 + 1}.ec2.internal" for i in range(nodes - 1)]
    ds = k.device_plugin_daemonset_helm(tolerations=[GPU_TOLERATION], desired=gpu_nodes, ready=gpu_nodes)
    objects: list[dict] = [ds]
    plugin_pods: list[tuple[str, str]] = []
    for index, name in enumerate(names):
        if index < gpu_nodes:
            instance_id = target_instance if name == target else None
            objects.append(k.node(name, instance_type="p5.48xlarge", instance_id=instance_id, taints=[GPU_TAINT]))
            plugin = k.device_plugin_pod(ds, name)
            objects.append(plugin)
            plugin_pods.append(("kube-system", plugin["metadata"]["name"]))
        else:
            objects.append(k.node(name, instance_type="c5.large", efa=None, gpus=None, hugepages_2mi="0"))
    for index in range(max(0, pods - len(plugin_pods))):
        name = names[index % gpu_nodes]
        objects.append(k.workload_pod(f"train-{index:05d}", namespace=f"team-{index % 20}", node_name=name,
                                      tolerations=[GPU_TOLERATION], owner={"kind": "Job", "name": f"train-{index // 8:05d}",
                                                                           "apiVersion": "batch/v1"}))
    return objects, plugin_pods


def run_once(args: list[str], env: dict[str, str]) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "efadoctor", *args], env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    try:
        report = json.loads(done.stdout)
    except ValueError as error:
        raise SystemExit(f"efadoctor exited {done.returncode} without a JSON report:\n{done.stdout}\n{done.stderr}") from error
    return wall, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--only", default="K8S")
    options = parser.parse_args()

    with FakeEC2() as ec2_fake, tempfile.TemporaryDirectory() as scratch:
        env = ec2_fake.env(os.environ)
        client = boto3.client("ec2", endpoint_url=ec2_fake.url, region_name=ec2_fake.region,
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        scenario = ec2_scenarios.healthy_p5(client)
        target = scenario.private_dns_name
        built = time.perf_counter()
        objects, plugin_pods = build_cluster(options.nodes, options.pods, target, scenario.instance_id)
        kinds: dict[str, int] = {}
        for obj in objects:
            kinds[obj["kind"]] = kinds.get(obj["kind"], 0) + 1
        with FakeKube(objects) as kube:
            for namespace, name in plugin_pods:
                kube.set_log(namespace, name, PLUGIN_LOG)
            kubeconfig = kube.write_kubeconfig(Path(scratch) / "kubeconfig")
            print(f"cluster: {kinds} served in {time.perf_counter() - built:.1f}s; target {target} ({scenario.instance_id})")
            args = ["run", "--node", target, "--kubeconfig", str(kubeconfig), "--only", options.only, "-o", "json"]
            run_once(args, env)  # warm the file-system cache for the interpreter and libraries
            walls, reports = [], []
            for _ in range(options.runs):
                wall, report = run_once(args, env)
                walls.append(wall)
                reports.append(report)
            report = reports[-1]
            print(f"efadoctor run --node --only {options.only}: wall median {statistics.median(walls):.3f}s "
                  f"min {min(walls):.3f}s max {max(walls):.3f}s over {options.runs} runs "
                  f"(in-process total_s median {statistics.median(r['timings']['total_s'] for r in reports):.3f}s)")
            print(f"verdict {report['verdict']}; api calls: {report['api_calls']['total']} {report['api_calls']['by_operation']}")
            print("checks: " + ", ".join(f"{c['check_id']}={c['status']}" for c in report["checks"]))
            if options.delay_ms:
                delay = options.delay_ms / 1000
                kube.delay_s = ec2_fake.delay_s = delay
                delayed = statistics.median(run_once(args, env)[0] for _ in range(options.runs))
                print(f"with {options.delay_ms:g} ms per request: wall median {delayed:.3f}s -> "
                      f"{(delayed - statistics.median(walls)) / delay:.2f} sequential rounds")


if __name__ == "__main__":
    main()
