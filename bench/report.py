#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Turn one bench run's results directory into a table, ratios and a plot.

The directory holds one subdirectory per filesystem, each with fio JSON
files (seq-write.json, ...), metaload JSON (meta-create.json, ...) and
untar.json.  Whatever is missing or failed shows as "n/a"; a ratio needs
both sides.  Writes table.txt, table.md, summary.json, plot.dat and,
with --plot, plot.png; prints the text table.

Standard library only, so any python3 will do.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

# (file stem, row label, unit, how to read the number)
METRICS = [
    ("seq-write", "seq write 1 MiB", "MB/s", ("fio", "write", "MBps")),
    ("seq-read", "seq read 1 MiB", "MB/s", ("fio", "read", "MBps")),
    ("rand-read", "rand read 4 KiB", "IOPS", ("fio", "read", "iops")),
    ("rand-write", "rand write 4 KiB", "IOPS", ("fio", "write", "iops")),
    ("b-seq-write", "buffered seq write 1 MiB", "MB/s",
     ("fio", "write", "MBps")),
    ("b-seq-read", "buffered seq read 1 MiB (cold)", "MB/s",
     ("fio", "read", "MBps")),
    ("b-seq-read-ra1m", "buffered seq read 1 MiB (cold, device readahead "
     "1 MiB)", "MB/s", ("fio", "read", "MBps")),
    ("b-rand-read", "buffered rand read 4 KiB", "IOPS",
     ("fio", "read", "iops")),
    ("b-rand-write", "buffered rand write 4 KiB + fsync", "IOPS",
     ("fio", "write", "iops")),
    ("mmap-rand-write", "mmap rand write 4 KiB + msync", "IOPS",
     ("fio", "write", "iops")),
    ("uring-rand-read", "buffered io_uring rand read 4 KiB, 8 deep", "IOPS",
     ("fio", "read", "iops")),
    ("meta-create", "create small files", "files/s", ("ops",)),
    ("meta-stat", "stat them (cold)", "files/s", ("ops",)),
    ("meta-unlink", "unlink them", "files/s", ("ops",)),
    ("untar", "untar source tree", "files/s", ("ops",)),
]


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def fio_value(doc, direction, what):
    """MB/s or IOPS of the first job in a fio JSON document, or None."""
    try:
        job = doc["jobs"][0]
        if job.get("error"):
            return None
        side = job[direction]
        if what == "iops":
            value = float(side["iops"])
        elif "bw_bytes" in side:
            value = float(side["bw_bytes"]) / 1e6
        else:
            value = float(side["bw"]) * 1024 / 1e6   # KiB/s in old fio
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return value if value > 0 else None


def read_one(fsdir, stem, how):
    doc = load_json(os.path.join(fsdir, stem + ".json"))
    if doc is None:
        return None
    if how[0] == "fio":
        return fio_value(doc, how[1], how[2])
    try:
        value = float(doc["ops_per_sec"])
    except (KeyError, TypeError, ValueError):
        return None
    return value if value > 0 else None


def run_dirs(fsdir):
    """A filesystem's result directories: run1, run2, ... when the bench
    was repeated (--repeat), else the directory itself."""
    try:
        runs = sorted((d for d in os.listdir(fsdir)
                       if d.startswith("run") and d[3:].isdigit()),
                      key=lambda d: int(d[3:]))
    except OSError:
        return []
    return [os.path.join(fsdir, d) for d in runs] or [fsdir]


def samples_in(rundir, stem):
    """The result files of one workload in one run: STEM.json, and
    STEM.2.json, ... when the guest ran it more than once (cold reads)."""
    extra = []
    try:
        for name in os.listdir(rundir):
            n = name[len(stem) + 1:-len(".json")]
            if name.startswith(stem + ".") and name.endswith(".json") and \
                    n.isdigit():
                extra.append((int(n), name[:-len(".json")]))
    except OSError:
        pass
    return [stem] + [name for _, name in sorted(extra)]


def read_metric(fsdir, stem, how):
    """(median over every sample the runs produced, all those values)."""
    found = [v for v in (read_one(d, s, how) for d in run_dirs(fsdir)
                         for s in samples_in(d, stem))
             if v is not None]
    if not found:
        return None, []
    return statistics.median(found), found


def fio_mib(doc):
    """MiB a fio job moved, reads and writes together, or None."""
    try:
        job = doc["jobs"][0]
        moved = sum(int(job[d]["io_bytes"]) for d in ("read", "write"))
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return moved / 2**20 if moved > 0 else None


def read_upcalls(fsdir, stem):
    """(median BEGIN+END+IOEND per MiB over the runs, the counts of the
    first run) from STEM.upcalls.json (guest-bench.sh) and STEM.json."""
    per_mib, first = [], None
    for d in run_dirs(fsdir):
        counts = load_json(os.path.join(d, stem + ".upcalls.json"))
        mib = fio_mib(load_json(os.path.join(d, stem + ".json")))
        if not isinstance(counts, dict) or not mib:
            continue
        try:
            iomap = sum(int(counts[k]) for k in ("begin", "end", "ioend"))
        except (KeyError, TypeError, ValueError):
            continue
        per_mib.append(iomap / mib)
        if first is None:
            first = dict(counts, mib=mib)
    if not per_mib:
        return None, None
    return statistics.median(per_mib), first


def read_status(fsdir, name):
    """The distinct contents of a status file over the runs, joined."""
    seen = []
    for d in run_dirs(fsdir):
        try:
            with open(os.path.join(d, name)) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text not in seen:
            seen.append(text)
    return " / ".join(seen) if seen else None


def fmt(value, ratio=False):
    if value is None:
        return "n/a"
    if ratio:
        return "%.2f" % value
    if value >= 100:
        return "%.0f" % value
    return "%.1f" % value


def parse_fs(spec):
    out = []
    for item in spec.split(","):
        key, _, label = item.partition("=")
        out.append((key.strip(), (label or key).strip()))
    return out


def render_text(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows)
              for i in range(len(header))]
    lines = []
    for n, row in enumerate([header] + rows):
        cells = [str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i])
                 for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_md(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


def draw_plot(args, fss, values, outdir):
    """plot.dat: one row per workload, each filesystem relative to the
    reference one (so MB/s, IOPS and files/s share one axis)."""
    ref = args.reference
    # Only filesystems that produced something get a bar.
    fss = [(k, l) for k, l in fss if any(values[k].values())]
    keys = [k for k, _ in fss]
    datpath = os.path.join(outdir, "plot.dat")
    nrows = 0
    with open(datpath, "w") as f:
        f.write("workload\t" + "\t".join('"%s"' % l for _, l in fss) + "\n")
        for stem, label, _, _ in METRICS:
            base = values[ref].get(stem) if ref in values else None
            if not base:
                continue
            cells = []
            for k in keys:
                v = values[k].get(stem)
                cells.append("%.4f" % (v / base) if v else "NaN")
            f.write('"%s"\t' % label + "\t".join(cells) + "\n")
            nrows += 1
    if not args.plot or nrows == 0:
        return None
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        print("warning: gnuplot not found; no plot", file=sys.stderr)
        return None
    png = os.path.join(outdir, "plot.png")
    ref_label = dict(fss).get(ref, ref)
    setvars = ("datafile='%s'; outfile='%s'; ncols=%d; "
               "plottitle='%s'; ylabel='relative to %s (= 1.0)'"
               % (datpath, png, len(keys), args.title.replace("'", ""),
                  ref_label.replace("'", "")))
    res = subprocess.run([gnuplot, "-e", setvars, args.plot],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, timeout=60)
    if res.returncode != 0 or not os.path.exists(png):
        print("warning: gnuplot failed:\n" + res.stdout, file=sys.stderr)
        return None
    return png


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", required=True, help="results directory")
    ap.add_argument("--fs", required=True,
                    help="key=label,... in column order (key = subdirectory)")
    ap.add_argument("--ratio", action="append", default=[],
                    help="A/B: add a column value(A)/value(B)")
    ap.add_argument("--reference", help="key the plot is normalised to")
    ap.add_argument("--plot", help="gnuplot script (plot.gp)")
    ap.add_argument("--title", default="fuse-iomap bench")
    ap.add_argument("--target", action="append", default=[],
                    help="A/B:STEM,STEM...:MIN: say whether ratio A/B "
                    "reaches MIN on those workloads")
    ap.add_argument("--upcalls",
                    help="key whose runs counted their FUSE requests: add "
                    "a column of its BEGIN+END+IOEND upcalls per MiB")
    ap.add_argument("--upcall-target", action="append", default=[],
                    help="STEM:MAX: say whether the --upcalls runs of that "
                    "workload stay within MAX upcalls per GiB")
    ap.add_argument("--direct", action="store_true",
                    help="the fio jobs without a b-, mmap- or uring- "
                    "prefix used O_DIRECT: say so in the labels")
    args = ap.parse_args()
    if args.direct:
        METRICS[:] = [(stem, ("direct " + label)
                       if how[0] == "fio" and
                       not stem.startswith(("b-", "mmap-", "uring-"))
                       else label, unit, how)
                      for stem, label, unit, how in METRICS]

    fss = parse_fs(args.fs)
    keys = [k for k, _ in fss]
    ratios = []
    for r in args.ratio:
        a, _, b = r.partition("/")
        if a not in keys or b not in keys:
            ap.error("ratio %s names an unknown filesystem" % r)
        ratios.append((a, b))
    targets = []
    for t in args.target:
        try:
            ratio, stems, minimum = t.split(":")
            targets.append((ratio, stems.split(","), float(minimum)))
        except ValueError:
            ap.error("bad --target %s (want A/B:STEM,...:MIN)" % t)
        if ratio not in args.ratio:
            ap.error("--target %s names a ratio not asked for" % t)
    if args.upcalls and args.upcalls not in keys:
        ap.error("unknown --upcalls %s" % args.upcalls)
    if args.reference and args.reference not in keys:
        ap.error("unknown reference %s" % args.reference)
    if not args.reference:
        args.reference = keys[-1]
    labels = dict(fss)

    values = {}
    samples = {}
    for key in keys:
        fsdir = os.path.join(args.results, key)
        values[key], samples[key] = {}, {}
        for stem, _, _, how in METRICS:
            values[key][stem], samples[key][stem] = \
                read_metric(fsdir, stem, how)
    nruns = len(run_dirs(os.path.join(args.results, keys[0]))) if keys else 0
    nsamples = max([len(samples[k][m]) for k in keys for m in samples[k]]
                   or [0])

    header = ["workload", "unit"] + [labels[k] for k in keys] + \
             ["%s/%s" % (a, b) for a, b in ratios]
    if args.upcalls:
        header.append("%s upcalls/MiB" % labels[args.upcalls])
    upcall_lines = []
    rows = []
    summary = {"filesystems": labels, "workloads": {}}
    for stem, label, unit, _ in METRICS:
        if all(values[k][stem] is None for k in keys):
            continue
        row = [label, unit] + [fmt(values[k][stem]) for k in keys]
        entry = {"unit": unit, "values": {k: values[k][stem] for k in keys},
                 "runs": {k: samples[k][stem] for k in keys},
                 "ratios": {}}
        for a, b in ratios:
            va, vb = values[a][stem], values[b][stem]
            ratio = va / vb if va and vb else None
            row.append(fmt(ratio, ratio=True))
            entry["ratios"]["%s/%s" % (a, b)] = ratio
        if args.upcalls:
            per_mib, counts = read_upcalls(
                os.path.join(args.results, args.upcalls), stem)
            row.append("n/a" if per_mib is None else "%.3f" % per_mib)
            entry["upcalls_per_mib"] = per_mib
            entry["upcalls"] = counts
            if counts:
                upcall_lines.append(
                    "  %s: %d BEGIN, %d END, %d IOEND, %d requests in all "
                    "for %.0f MiB" % (label, counts["begin"], counts["end"],
                                      counts["ioend"], counts["all"],
                                      counts["mib"]))
        rows.append(row)
        summary["workloads"][stem] = entry

    fsck = []
    for key in keys:
        status = read_status(os.path.join(args.results, key),
                             "fsck.status") or "not run"
        fsck.append("%s: %s" % (labels[key], status))
        summary.setdefault("fsck", {})[key] = status

    # How the FUSE runs served the fio file (guest bench): an "iomap" run
    # whose file went classic measured the wrong thing.
    served = []
    for key in keys:
        mode = read_status(os.path.join(args.results, key), "io-mode.txt")
        if mode is None:
            continue
        served.append("%s: %s" % (labels[key], mode))
        summary.setdefault("io_mode", {})[key] = mode
        if key == "iomap" and mode != "iomap":
            served[-1] += "  <-- WARNING: not iomap, ratios are not iomap's"

    run_info = ""
    try:
        with open(os.path.join(args.results, "run.txt")) as f:
            run_info = f.read()
    except OSError:
        pass

    text = args.title + "\n"
    if nruns > 1:
        text += "(median of %d interleaved runs per value)\n" % nruns
    if nsamples > nruns:
        text += "(cold streaming reads: median of %d reads, each from a " \
            "fresh mount)\n" % nsamples
    text += "\n"
    text += render_text(header, rows) if rows else "(no results)"
    text += "\n\ne2fsck -fn after the run: " + "; ".join(fsck) + "\n"
    if served:
        text += "fio file served as: " + "; ".join(served) + "\n"
    if upcall_lines:
        text += "FUSE requests of the %s run (first run):\n" % \
            labels[args.upcalls] + "\n".join(upcall_lines) + "\n"
    label_of = {stem: label for stem, label, _, _ in METRICS}
    for ratio, stems, minimum in targets:
        for stem in stems:
            got = summary["workloads"].get(stem, {}).get("ratios", {}).get(ratio)
            verdict = ("n/a" if got is None else
                       "%.2f %s" % (got, "met" if got >= minimum else "MISSED"))
            text += "target %s >= %.2f on %s: %s\n" % (
                ratio, minimum, label_of.get(stem, stem), verdict)
            summary.setdefault("targets", []).append(
                {"ratio": ratio, "workload": stem, "min": minimum,
                 "value": got})
    for t in args.upcall_target:
        stem, _, most = t.partition(":")
        per_mib = summary["workloads"].get(stem, {}).get("upcalls_per_mib")
        verdict = ("n/a" if per_mib is None else "%.0f %s" % (
            per_mib * 1024, "met" if per_mib * 1024 <= float(most)
            else "MISSED"))
        text += "target %s upcalls per GiB <= %s on %s: %s\n" % (
            labels.get(args.upcalls, "?"), most, label_of.get(stem, stem),
            verdict)
    md = "### " + args.title + "\n\n" + (render_md(header, rows) if rows
                                          else "(no results)") + "\n"
    with open(os.path.join(args.results, "table.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(args.results, "table.md"), "w") as f:
        f.write(md)
    summary["run"] = dict(line.split("=", 1) for line in run_info.splitlines()
                          if "=" in line)
    with open(os.path.join(args.results, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")

    png = draw_plot(args, fss, values, args.results)
    print(text)
    if png:
        print("plot: " + png)
    print("results: " + os.path.abspath(args.results))
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
