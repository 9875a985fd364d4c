"""Throughput and memory of the log parser on a large NCCL_DEBUG=INFO log (a script, not a test).

`efadoctor logs` must read a multi-gigabyte nccl-tests log in seconds on one core, and its memory must
not grow with the log. This script writes a log of the requested size into a temporary directory,
built only from the real sample lines under tests/data/logs, re-prefixed with varying host:pid:tid
(64 hosts, 8 ranks each, 4 threads per rank); it parses the file once with `parse_log_files`, prints
MiB/s (per wall-clock and per CPU second: on a shared machine the CPU figure is the steadier one)
and peak RSS, and deletes the directory. Goal: >= 100 MiB/s, and the same peak RSS at 200 MiB
and at 1 GiB.

Two line mixes:
  run      (default) shaped like an nccl-tests run: each of 16 ranks prints the init lines once and
           the channel lines of sample 10 eight times (channel connections are the bulk of a real
           INFO log; here they are two thirds of the lines), then the performance table once per run.
  uniform  every sample line equally often: the worst case, where most lines are signatures.

With --diagnose the file goes through what `efadoctor logs FILE` runs instead: the `log_facts` collector
(path checks, then the same streaming parse) and every log check, through the engine.

    python -m benchmarks.bench_logs --size-mb 200 [--mix uniform] [--profile] [--diagnose]
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

from efadoctor.parsers.logs import parse_log_files, summarize

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "logs"
SAMPLES = (
    "10_nccl_efa_ok_p4d_nccl2.9.9_aws-ofi-nccl_eks.txt",
    "12_nccl_efa_ok_p4d_aws-ofi-nccl1.11_init_lines_issue715.txt",
    "13_nccl_socket_fallback_no_plugin_nccl2.4.8_issue352.txt",
    "07_fi_info_efa_fail_-61_and_nccl_ofi_enodata.txt",
)
_PREFIX = re.compile(r"^(?P<frame>.*?)(?P<host>[A-Za-z0-9][\w.\-]*):\d+:\d+ (?P<rest>\[\d+\] .*)$")
_MPI_TAG = re.compile(r"\[1,\d+\]<stdout>:")
HOSTS = 64
RANKS_PER_HOST = 8
THREADS_PER_RANK = 4
RANKS_PER_RUN = 16
CHANNEL_REPEATS = 8
BLOCK_LINES = 20_000  # lines per generated block; blocks cycle so the file is big without a big process

Template = tuple[str, str]  # (framing before host:pid:tid, text after it)


def template_lines() -> tuple[list[Template], list[Template], list[str]]:
    """Real log lines from the samples: (init lines, channel lines) to re-prefix, and bare lines.

    Only lines a program printed are used: SOURCE headers, excerpt markers and the prose quoted from
    issues around the excerpts are left out."""
    init: list[Template] = []
    channel: list[Template] = []
    bare: list[str] = []
    for name in SAMPLES:
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith(("# SOURCE", "#  ", "# ----", "# (", "```")):
                continue
            if name.startswith("07_") and "NCCL" not in line and "libfabric" not in line:
                continue  # sample 07 is mostly prose around three log lines
            if name.startswith("13_") and not (":" in line[:40] or line.startswith(("#", "NCCL"))):
                continue  # the issue's own sentence before the pasted output
            match = _PREFIX.match(line)
            if match is None:
                bare.append(line)
            elif " Channel " in line:
                channel.append((match.group("frame"), match.group("rest")))
            else:
                init.append((match.group("frame"), match.group("rest")))
    return init, channel, bare


class LogWriter:
    """Generates lines of 512 ranks (64 hosts x 8 pids x 4 tids) from the templates."""

    def __init__(self, mix: str, seed: int = 7) -> None:
        self.mix = mix
        self.rng = random.Random(seed)
        self.init, self.channel, self.bare = template_lines()
        self.ranks = [
            (f"ip-10-0-{host // 8}-{host % 8 + 10}", pid, [pid + self.rng.randrange(1, 60) for _ in range(THREADS_PER_RANK)])
            for host in range(HOSTS)
            for pid in (self.rng.randrange(1000, 60000) for _ in range(RANKS_PER_HOST))
        ]

    def prefixed(self, template: Template, rank: int) -> str:
        host, pid, tids = self.ranks[rank]
        frame = _MPI_TAG.sub(f"[1,{rank}]<stdout>:", template[0])  # mpirun tags a rank's lines with its rank
        return f"{frame}{host}:{pid}:{self.rng.choice(tids)} {template[1]}"

    def block(self) -> str:
        out: list[str] = []
        if self.mix == "uniform":
            templates: list[Template | str] = [*self.init, *self.channel, *self.bare]
            for i in range(BLOCK_LINES):
                template = templates[i % len(templates)]
                rank = self.rng.randrange(len(self.ranks))
                out.append(template if isinstance(template, str) else self.prefixed(template, rank))
        else:
            while len(out) < BLOCK_LINES:
                run: list[str] = []
                for rank in self.rng.sample(range(len(self.ranks)), RANKS_PER_RUN):
                    run.extend(self.prefixed(t, rank) for t in self.init)
                    run.extend(self.prefixed(t, rank) for t in self.channel * CHANNEL_REPEATS)
                self.rng.shuffle(run)  # ranks write concurrently
                out.extend(run)
                out.extend(self.bare)
        return "\n".join(out) + "\n"


def write_log(path: Path, size_bytes: int, mix: str) -> int:
    writer = LogWriter(mix)
    blocks = [writer.block().encode() for _ in range(8)]
    written = 0
    with path.open("wb") as out:
        i = 0
        while written < size_bytes:
            block = blocks[i % len(blocks)]
            out.write(block)
            written += len(block)
            i += 1
    return written


def diagnose(path: Path):
    """What `efadoctor logs PATH` runs, without rendering: the collectors and every log check; returns the facts."""
    from efadoctor import engine
    from efadoctor.context import Context, Options
    from efadoctor.registry import load

    registry = load(plugins=False)
    context = Context(Options(target="logs", paths=(str(path),)))
    result = engine.run(registry.for_target("logs"), registry.collectors, context, timeout_s=3600)
    for finding in result.findings:
        print(f"  {finding.check.id} {finding.verdict.status.value}: {finding.verdict.summary[:110]}")
    return result.facts.get("log_facts")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="log size in MiB (default 1024)")
    parser.add_argument("--mix", choices=("run", "uniform"), default="run", help="line mix (default run)")
    parser.add_argument("--profile", action="store_true", help="also print the top functions (cProfile)")
    parser.add_argument("--diagnose", action="store_true", help="run the whole `efadoctor logs` diagnosis (collector and checks)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="efadoctor-bench-") as tmp:
        path = Path(tmp) / "nccl-info.log"
        # Written by a child process, so this process's peak RSS is the parser's alone.
        writer = multiprocessing.get_context("fork").Process(target=write_log, args=(path, args.size_mb * 1024 * 1024, args.mix))
        writer.start()
        writer.join()
        size = path.stat().st_size
        rss_before = peak_rss_mib()
        start, cpu_start = time.perf_counter(), time.process_time()
        if args.diagnose:
            facts = diagnose(path)
        elif args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            facts = profiler.runcall(parse_log_files, [path])
            pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
        else:
            facts = parse_log_files([path])
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        rss_after = peak_rss_mib()
    mib = size / (1024 * 1024)
    print(
        f"mix {args.mix}: parsed {mib:.0f} MiB, {facts.lines} lines, {len(facts.hosts)} hosts "
        f"in {elapsed:.2f} s wall, {cpu:.2f} s CPU: {mib / elapsed:.0f} MiB/s wall, {mib / cpu:.0f} MiB/s CPU"
    )
    print(f"peak RSS: {rss_before:.1f} MiB before parsing, {rss_after:.1f} MiB after")
    print(f"summary: {summarize(facts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
