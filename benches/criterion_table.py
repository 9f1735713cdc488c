#!/usr/bin/env python3
"""Print criterion results as a markdown table (standard library only).

Usage:
    python3 benches/criterion_table.py [CRITERION_DIR] [--readme [FILE]]

CRITERION_DIR defaults to $CARGO_TARGET_DIR/criterion, else target/criterion.
Every `<group>/<bench>/<size>/new/` directory below it that holds both
`benchmark.json` and `estimates.json` becomes one row: group, bench, size
(`20B ×3276` when one iteration handles a batch of 3,276 payloads of 20 B),
median time per iteration (with the half-width of its 95 % confidence
interval), throughput in GB/s (10^9 bytes per second, from the bench's
`Throughput::Bytes`), and, in the `core` group, the time per byte relative to
`memcpy` of the same size (memcpy = 1.00x; 3.00x means three times as long
per byte as copying it). `--note TEXT` puts a line of text above the table.

With `--readme FILE` the table also replaces the lines between
`<!-- bench:micro:begin -->` and `<!-- bench:micro:end -->` in FILE; a file
without both markers (in that order) is left untouched. `--readme` without a
file writes benches/README.md (next to this script), where the full tables
live; the top-level README only summarises them.
"""

import argparse
import json
import os
import re
import sys
from pathlib import Path

DEFAULT_README = Path(__file__).resolve().parent / "README.md"
BEGIN = "<!-- bench:micro:begin -->"
END = "<!-- bench:micro:end -->"
BASELINE_GROUP = "core"
BASELINE_BENCH = "memcpy"
ORDER = [BASELINE_BENCH, "parse_unmask_validate_text", "parse_unmask_validate_binary", "unmask",
         "utf8", "utf8_basic", "utf8_core_str", "receive_reads_shared", "receive_reads_direct", "encode_server", "encode_server_shared", "encode_client",
         "compress", "decompress"]

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 10**6,
          "mb": 10**6, "mib": 1 << 20, "g": 10**9, "gb": 10**9, "gib": 1 << 30}


def size_key(label):
    """Sort key for a size label such as `20B`, `1KiB`, `64KiB`, `1MiB` or `4096`."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", label or "")
    if match and match.group(2).lower() in _UNITS:
        return (0, float(match.group(1)) * _UNITS[match.group(2).lower()], "")
    return (1, 0.0, label or "")


def bench_key(name):
    """Known benches in a fixed order (the baseline first), any other after them by name."""
    return (ORDER.index(name), "") if name in ORDER else (len(ORDER), name)


def throughput_bytes(throughput):
    """Bytes per iteration from benchmark.json's `throughput` (None when not in bytes)."""
    if not isinstance(throughput, dict):
        return None
    for kind in ("Bytes", "BytesDecimal"):
        if kind in throughput:
            return throughput[kind]
    return None


def load(criterion_dir):
    rows = []
    for bench_file in sorted(Path(criterion_dir).glob("**/new/benchmark.json")):
        estimates_file = bench_file.with_name("estimates.json")
        if not estimates_file.is_file():
            continue
        try:
            bench = json.loads(bench_file.read_text())
            estimates = json.loads(estimates_file.read_text())
        except (OSError, ValueError) as error:
            print(f"skipping {bench_file.parent}: {error}", file=sys.stderr)
            continue
        median = estimates.get("median") or estimates.get("mean")
        if not median:
            continue
        ns = median["point_estimate"]
        ci = median.get("confidence_interval") or {}
        lower, upper = ci.get("lower_bound"), ci.get("upper_bound")
        spread = (upper - lower) / 2 / ns if ns and lower is not None and upper is not None else None
        nbytes = throughput_bytes(bench.get("throughput"))
        rows.append({
            "group": bench.get("group_id") or "",
            "bench": bench.get("function_id") or "",
            "size": bench.get("value_str") or "",
            "ns": ns,
            "spread": spread,
            "bytes": nbytes,
            # bytes per ns = GB/s
            "gbps": nbytes / ns if nbytes and ns else None,
        })
    return rows


def format_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}" if ns / scale < 100 else f"{ns / scale:.0f} {unit}"
    return f"{ns:.3g} ns" if ns < 100 else f"{ns:.0f} ns"


def table(rows, note=None):
    baseline = {
        r["size"]: r["gbps"]
        for r in rows
        if r["group"] == BASELINE_GROUP and r["bench"] == BASELINE_BENCH and r["gbps"]
    }
    rows = sorted(rows, key=lambda r: (r["group"], size_key(r["size"]), bench_key(r["bench"])))
    lines = [note, ""] if note else []
    lines += [
        "| group | bench | size | time / iter (median) | GB/s | vs memcpy (time per byte) |",
        "| --- | --- | --- | ---: | ---: | ---: |",
    ]
    for r in rows:
        time = format_time(r["ns"])
        if r["spread"] is not None:
            time += f" ± {100 * r['spread']:.1f} %"
        gbps = f"{r['gbps']:.3f}" if r["gbps"] else "–"
        ratio = "–"
        if r["group"] == BASELINE_GROUP and r["gbps"] and baseline.get(r["size"]):
            ratio = f"{baseline[r['size']] / r['gbps']:.2f}x"
        size = r["size"]
        kind, size_bytes, _ = size_key(size)
        if kind == 0 and size_bytes and r["bytes"] and r["bytes"] != size_bytes \
                and r["bytes"] % size_bytes == 0:
            size += f" ×{r['bytes'] // int(size_bytes)}"  # a batch of messages per iteration
        lines.append(f"| {r['group']} | {r['bench']} | {size} | {time} | {gbps} | {ratio} |")
    return lines


def rewrite_readme(path, lines):
    """Replace the lines between the markers; leave the file alone when they are missing."""
    try:
        text = Path(path).read_text()
    except OSError as error:
        print(f"{path}: {error}; not rewritten", file=sys.stderr)
        return False
    old = text.splitlines(keepends=True)
    stripped = [line.strip() for line in old]
    if BEGIN not in stripped or END not in stripped:
        print(f"{path}: markers {BEGIN} / {END} not found; left untouched", file=sys.stderr)
        return False
    begin = stripped.index(BEGIN)
    end = stripped.index(END, begin + 1) if END in stripped[begin + 1:] else -1
    if end < 0:
        print(f"{path}: {END} does not follow {BEGIN}; left untouched", file=sys.stderr)
        return False
    newline = "\r\n" if old[begin].endswith("\r\n") else "\n"
    new = old[:begin + 1] + [line + newline for line in lines] + old[end:]
    Path(path).write_text("".join(new))
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_dir = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "criterion")
    parser.add_argument("criterion_dir", nargs="?", default=default_dir,
                        help=f"criterion output directory (default: {default_dir})")
    parser.add_argument("--readme", metavar="FILE", nargs="?", const=str(DEFAULT_README),
                        help=f"also replace the lines between {BEGIN} and {END} in FILE "
                             f"(without FILE: {DEFAULT_README})")
    parser.add_argument("--note", metavar="TEXT",
                        help="a line printed above the table (e.g. the machine and its load average)")
    args = parser.parse_args(argv)
    if not Path(args.criterion_dir).is_dir():
        print(f"{args.criterion_dir}: not a directory (run `cargo bench` first)", file=sys.stderr)
        return 1
    rows = load(args.criterion_dir)
    if not rows:
        print(f"{args.criterion_dir}: no */new/benchmark.json + estimates.json found", file=sys.stderr)
        return 1
    lines = table(rows, args.note)
    print("\n".join(lines))
    if args.readme:
        rewrite_readme(args.readme, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
