"""`python -m benchmarks`: build (or reuse) the 20,000-conversation profile, run every measurement, print JSON.

Decisions:
- Every measurement runs in its own child process on its own copy of the profile, so memory figures
  belong to that measurement alone and nothing one step writes changes the next one.
- First paint is measured seven times, each run paired with a bare PySide6 + sqlite3 table painting the
  same rows (interleaved, so both see the same load), and the medians reported with their ratio (the
  first run also pays for a cold OS file cache, which a fresh boot would; the spread is in the JSON). The core step (ingest, dedupe,
  queue and search times) also runs three times, each on a fresh copy, and reports the medians: a
  single 0.4 s ingest varies by ±15 % on a shared 2-vCPU machine. Every run is in the JSON.
- Before each measuring child the parent calls os.sync(): the profile copies it just made are still
  being written back, and that write-back would otherwise land inside the measurement.
- Budgets come from the issue; each metric says its value, its budget and pass/fail. The exit code is 0
  even when a budget fails: benchmarks report, they do not gate CI (timings depend on the machine).
- JSON goes to stdout and benchmarks/results/latest.json (git-ignored); a readable summary to stderr.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import benchmarks
import socialdesk
from benchmarks import fixture, machine

RESULTS = Path(__file__).resolve().parent / "results"
STEPS = ("first_paint", "core", "stall", "leak", "mail")
PAINT_RUNS = 7  # first paint and the bare table, interleaved pairs (medians of each)


def _child(args: list[str], home: Path) -> dict:
    # The profile copies just made (35 MB each) are still being written back to disk; without this the
    # kernel does that during the measurement, and the ingest's own writes queue behind it.
    if hasattr(os, "sync"):  # POSIX only; elsewhere the copies' write-back may show in the figures
        os.sync()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SOCIALDESK_HOME=str(home))
    env["BENCH_SPAWN_MONOTONIC"] = repr(time.monotonic())
    proc = subprocess.run([sys.executable, "-m", *args], env=env, capture_output=True, text=True, timeout=1800)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{' '.join(args)} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def _metric(name: str, value: float | None, unit: str, budget: float, higher_is_better: bool = False) -> dict:
    ok = value is not None and (value >= budget if higher_is_better else value <= budget)
    return {"name": name, "value": value, "unit": unit, "budget": ("≥ " if higher_is_better else "≤ ") + f"{budget:g}",
            "pass": ok}


def run(steps: tuple[str, ...], conversations: int, messages: int, work: Path) -> dict:
    def home(tag: str):
        return fixture.prepared_home(work / tag, conversations, messages)

    raw: dict = {}
    # As installed: `pip install .` writes the bytecode of every module, so an owner's start never
    # compiles source. A checkout may have none (PYTHONDONTWRITEBYTECODE is set on some machines, and
    # edits invalidate it), which would add about 0.3 s of compiling to every first paint measured.
    raw["bytecode_compiled"] = all(
        compileall.compile_dir(str(Path(package.__file__).parent), quiet=1) for package in (socialdesk, benchmarks)
    )
    if set(steps) - {"mail"}:  # the mail step needs no profile
        info = home("first")
        raw["fixture"] = {"conversations": info.conversations, "messages": info.messages,
                          "accounts": info.accounts, "build_seconds": info.build_seconds,
                          "from_cache": info.cached, "cache_dir": str(fixture.cache_dir(conversations, messages))}
    metrics: list[dict] = []
    if "first_paint" in steps:
        runs, bare = [], []
        # Interleaved, so both see the same load on the machine; seven pairs, as one paint can take half
        # as long again as the next on a shared virtual machine (measured: 0.36-0.52 s, bare 0.25-0.46 s).
        for n in range(PAINT_RUNS):
            runs.append(_child(["benchmarks.gui_bench", "first_paint", str(home(f"paint{n}").home)], work / f"paint{n}"))
            bare.append(_child(["benchmarks.gui_bench", "bare_table", str(home(f"bare{n}").home)], work / f"bare{n}"))
        raw["first_paint_runs"], raw["bare_table_runs"] = runs, bare
        # Beside the metric (medians), the best run of each: what neither lost to the machine's other work.
        raw["first_paint_best_vs_bare_best"] = round(
            min(r["first_paint_s"] for r in runs) / min(r["first_paint_s"] for r in bare), 2)
        paint = sorted(runs, key=lambda r: r["first_paint_s"])[len(runs) // 2]
        first_paint_s = statistics.median(r["first_paint_s"] for r in runs)
        bare_s = statistics.median(r["first_paint_s"] for r in bare)
        metrics += [
            _metric("first_paint", first_paint_s, "s", 1.0),
            _metric("first_paint_vs_bare_table", round(first_paint_s / bare_s, 2), "×", 1.75),
            _metric("peak_rss_at_first_paint", paint["peak_rss_at_first_paint_mb"], "MB", 100),
            _metric("peak_rss_after_full_scroll", max(r["peak_rss_after_scroll_mb"] for r in runs), "MB", 150),
        ]
    if "core" in steps:
        runs = raw["core_runs"] = [
            _child(["benchmarks.core_bench", str(home(f"core{n}").home)], work / f"core{n}") for n in range(3)
        ]

        def median(pick) -> float:
            return statistics.median(pick(r) for r in runs)

        metrics += [
            _metric("ingest_10k_new", median(lambda r: r["ingest"]["items_per_s"]), "items/s", 20_000, True),
            _metric("ingest_10k_duplicates", median(lambda r: r["dedupe"]["items_per_s"]), "items/s", 20_000, True),
            _metric("queue_query", median(lambda r: r["queue_query"]["median_ms"]), "ms", 20),
            _metric("search", median(lambda r: r["search"]["median_ms"]), "ms", 30),
        ]
    if "stall" in steps:
        stall = raw["stall"] = _child(["benchmarks.gui_bench", "stall", str(home("stall").home)], work / "stall")
        metrics.append(_metric("gui_stall_during_10k_sync", stall["max_stall_ms"], "ms", 50))
    if "leak" in steps:
        leak = raw["leak"] = _child(["benchmarks.gui_bench", "leak", str(home("leak").home)], work / "leak")
        metrics.append(_metric("memory_growth_after_warmup", leak["growth_mb"], "MB", 5))
    if "mail" in steps:
        mail = raw["mail"] = _child(["benchmarks.mail_bench"], work / "mail")
        metrics.append(_metric("worst_single_message_parse", mail["worst_s"], "s", mail["budget_s"]))
    return {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine.info(),
        "metrics": metrics,
        "details": raw,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=STEPS, help="run only these steps (repeatable)")
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="socialdesk-bench-") as tmp:
        report = run(tuple(args.only or STEPS), args.conversations, args.messages, Path(tmp))
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(text + "\n", encoding="utf-8")
    for m in report["metrics"]:
        mark = "PASS" if m["pass"] else "FAIL"
        print(f"{mark}  {m['name']:<30} {m['value']!s:>10} {m['unit']:<8} budget {m['budget']}", file=sys.stderr)
    print("(benchmarks report; the exit code is 0 whatever the budgets say)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
