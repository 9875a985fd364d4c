"""API calls and sequential rounds of a diagnosis under injected latency (a script, not a test).

Why rounds: on a real cluster every API call costs a network round trip (tens of milliseconds, more
across regions or through an `aws eks get-token` exec plugin), so the wall time of a diagnosis is set
by how many calls wait on each other, not by how many there are. This script serves a healthy
p5.48xlarge (the fake EC2's `healthy_p5` scenario, a Kubernetes node pointing at it, a running EFA
device plugin with its log) from the in-process fakes, runs the real CLI in-process, and measures:

- total API calls, counted by the fakes themselves (not by efadoctor);
- wall time with no added latency (wall_0) and with d seconds added to every call on both fakes;
- sequential rounds = (wall_d - wall_0) / d: how much of the added latency the user waits for
  (a pods/exec counts as one round: the fake delays its upgrade request). Local work that overlaps
  the first round (building the boto3 session while the node is fetched) absorbs some of it, so this
  can be below the depth of the call graph;
- waves: the depth itself, from the arrival times both fakes saw at the largest delay (a call that
  arrives at least d/2 after the current wave began starts a new wave).

Goal for `run --node`: at most 3 rounds (node -> {DescribeInstances, DescribeInstanceTypes} ->
{DescribeSecurityGroups, DescribePlacementGroups}; the Kubernetes reads run beside them).

    python -m benchmarks.bench_rounds                      # run --node, delays 0.05 and 0.2 s
    python -m benchmarks.bench_rounds --pod default/nccl-test-0 --repeat 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

WORKLOAD_NAMESPACE, WORKLOAD_POD = "default", "nccl-test-0"


def waves(arrivals: list[tuple[float, str]], delay: float) -> list[list[str]]:
    """Group calls into sequential waves: one wave's calls all start within delay/2 of its first call."""
    groups: list[list[str]] = []
    start = None
    for at, name in sorted(arrivals):
        if start is None or at - start >= delay / 2:
            groups.append([])
            start = at
        groups[-1].append(name)
    return groups


def device_plugin_log(count: int) -> str:
    """A device-plugin log finding `count` devices, in the line format of the plugin's own output
    (the project's sample of aws-efa-k8s-device-plugin logs on p5.48xlarge)."""
    lines = ["2024/03/13 22:16:00 Fetching EFA devices."]
    for index in range(count):
        device = f"rdmap{79 + index}s0"
        lines.append(f"2024/03/13 22:16:00 device: {device},uverbs{index},/sys/class/infiniband_verbs/uverbs{index},/sys/class/infiniband/{device}")
    lines += [
        "2024/03/13 22:16:00 Starting to serve on /var/lib/kubelet/device-plugins/aws-efa-device-plugin.sock",
        "2024/03/13 22:16:00 Registered device plugin with Kubelet",
    ]
    return "\n".join(lines) + "\n"


def build_fakes(pod: str | None) -> tuple[Any, Any, str, str]:
    """Start both fakes, seed the scenario; returns (fake_ec2, fake_kube, kubeconfig, node name)."""
    import boto3

    from tests.fakes import kube_objects as k
    from tests.fakes.ec2 import FakeEC2
    from tests.fakes.ec2_scenarios import healthy_p5
    from tests.fakes.kube import FakeKube

    ec2 = FakeEC2().start()
    for key in [key for key in os.environ if key.startswith("AWS_")]:
        del os.environ[key]
    os.environ.update(ec2.env())
    os.environ["AWS_CONFIG_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    scenario = healthy_p5(boto3.client("ec2"))
    name = scenario.private_dns_name
    daemonset = k.device_plugin_daemonset_helm()
    plugin_pod = k.device_plugin_pod(daemonset, name)
    objects = [
        k.node(name, instance_type=scenario.instance_type, zone=scenario.availability_zone, instance_id=scenario.instance_id, efa=scenario.efa_interfaces),
        daemonset,
        plugin_pod,
    ]
    if pod:
        namespace, pod_name = pod.split("/", 1)
        objects.append(k.workload_pod(pod_name, namespace=namespace, node_name=name))
        # the in-pod probe answers with a healthy p5's output
        from tests.fakes.probe_text import probe_output

    kube = FakeKube(objects).start()
    if pod:
        from tests.fakes.kube import ExecResult

        kube.exec_handler = lambda *_: ExecResult(stdout=probe_output(devices=scenario.efa_interfaces))
    kube.set_log(plugin_pod["metadata"]["namespace"], plugin_pod["metadata"]["name"], device_plugin_log(scenario.efa_interfaces))
    kubeconfig = str(kube.write_kubeconfig(Path(tempfile.mkdtemp(prefix="efadoctor-bench-")) / "kubeconfig"))
    return ec2, kube, kubeconfig, name


def run_once(args: list[str]) -> tuple[float, dict]:
    import json

    from click.testing import CliRunner

    from efadoctor.cli import main

    started = time.perf_counter()
    result = CliRunner().invoke(main, [*args, "-o", "json"], catch_exceptions=False)
    wall = time.perf_counter() - started
    try:
        return wall, json.loads(result.stdout)
    except ValueError:
        raise SystemExit(f"efadoctor {' '.join(args)} printed no JSON (exit {result.exit_code}):\n{result.output}") from None


def measure(ec2: Any, kube: Any, args: list[str], delay: float, repeat: int) -> tuple[float, int, int, dict]:
    """Median wall time over `repeat` runs with `delay` seconds on every call; calls of the last run."""
    walls = []
    report: dict = {}
    for _ in range(repeat):
        ec2.delay_s = kube.delay_s = delay
        ec2.reset_calls()
        kube.reset_requests()
        wall, report = run_once(args)
        walls.append(wall)
    return statistics.median(walls), len(ec2.calls), len(kube.requests), report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pod", metavar="NS/POD", help=f"diagnose this pod instead of the node (e.g. {WORKLOAD_NAMESPACE}/{WORKLOAD_POD})")
    parser.add_argument("--delays", default="0.05,0.2", help="seconds added to every API call, comma-separated (default 0.05,0.2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per delay; the median wall time is used (default 3)")
    parser.add_argument("--no-exec", action="store_true", help="pod mode: pass --no-exec (no in-pod probe)")
    options = parser.parse_args(argv)
    delays = [float(d) for d in options.delays.split(",") if d.strip()]

    ec2, kube, kubeconfig, node = build_fakes(options.pod)
    try:
        if options.pod:
            args = ["pod", options.pod, "--kubeconfig", kubeconfig] + (["--no-exec"] if options.no_exec else [])
        else:
            args = ["run", "--node", node, "--kubeconfig", kubeconfig]
        run_once(args)  # warm-up: imports, moto's lazy backends, boto3's service model
        wall_0, ec2_calls, kube_calls, report = measure(ec2, kube, args, 0.0, options.repeat)
        print(f"command:      efadoctor {' '.join(a for a in args if a != kubeconfig).replace('--kubeconfig', '--kubeconfig <fake>')}")
        print(f"verdict:      {report.get('verdict')} ({report.get('headline')})")
        print(f"API calls:    {ec2_calls + kube_calls} (EC2 {ec2_calls}, Kubernetes {kube_calls}; recorded by efadoctor: {report['api_calls']['total']})")
        print(f"by operation: {report['api_calls']['by_operation']}")
        print(f"wall, no added latency: {wall_0 * 1000:.0f} ms (median of {options.repeat})")
        for delay in delays:
            wall_d, _, _, _ = measure(ec2, kube, args, delay, options.repeat)
            rounds = (wall_d - wall_0) / delay
            print(f"wall, +{delay * 1000:.0f} ms per call: {wall_d * 1000:.0f} ms -> sequential rounds = {rounds:.2f}")
        arrivals = [(call.at, f"ec2:{call.action}") for call in ec2.calls]
        arrivals += [(at, f"k8s:{method} {path.split('?')[0]}") for at, (method, path) in zip(kube.arrivals, kube.requests)]
        found = waves(arrivals, max(delays))
        print(f"waves of API calls at +{max(delays) * 1000:.0f} ms: {len(found)}")
        for number, group in enumerate(found, 1):
            print(f"  {number}. {', '.join(group)}")
    finally:
        kube.stop()
        ec2.stop()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `tests.fakes` when run as a file
    sys.exit(main())
