"""Printing, JSON and the PNG chart."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from bench.machine import one_line


def combine_bare(before: dict[int, Any], after: dict[int, Any] | None) -> dict[int, dict[str, Any]]:
    """The reference per connection count: the mean of the measurements before and after the scenarios."""
    out = {}
    for connections, first in before.items():
        runs = [first.as_dict()] + ([after[connections].as_dict()] if after and connections in after else [])
        out[connections] = {
            "rps": round(sum(r["rps"] for r in runs) / len(runs), 1),
            "p50_ms": round(sum(r["p50_ms"] for r in runs) / len(runs), 2),
            "p99_ms": round(sum(r["p99_ms"] for r in runs) / len(runs), 2),
            "errors": sum(r["errors"] for r in runs),
            "measurements": runs,
        }
    return out


def _fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return "-"
    return format(value, spec)


def table(results: dict[str, Any]) -> str:
    db = results["database"]
    lines = [f"Coopol bench on {db} ({results['size']} seed: {results['seed_counts']})",
             "machine: " + one_line(results["machine"]),
             f"gunicorn: {results['gunicorn']}",
             ""]
    header = f"{'scenario':<44} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>7} {'goal':>6}"
    lines += [header, "-" * len(header)]
    for connections, ref in results.get("bare", {}).items():
        lines.append(f"{'bare Flask (same gunicorn)':<44} {connections:>5} {ref['rps']:>9,.0f} "
                     f"{ref['p50_ms']:>8.2f} {ref['p99_ms']:>8.2f} {1.0:>7.2f} {'':>6}")
    for entry in results.get("scenarios", []):
        if entry["status"] != "ok" and not entry.get("runs"):
            lines.append(f"{entry['title']:<44} {entry['status']}: {entry.get('reason', '')}")
            continue
        goal = entry.get("goal_for_database")
        for connections, run in entry["runs"].items():
            mark = ""
            if goal is not None and run.get("ratio") is not None:
                mark = "" if run["ratio"] >= goal else " (below goal)"
            if run.get("repeated") and entry.get("key") == "inbox":
                mark += " (ids repeated)"
            lines.append(f"{entry['title']:<44} {connections:>5} {run['rps']:>9,.0f} {run['p50_ms']:>8.2f} "
                         f"{run['p99_ms']:>8.2f} {_fmt(run.get('ratio'), '>7.2f')} "
                         f"{_fmt(goal, '>6.2f')}{mark}")
        if entry["status"] != "ok":
            lines.append(f"{'':<44} {entry['status']}: {entry.get('reason', '')}")
    if results.get("rss"):
        rss = results["rss"]
        lines.append(f"{rss['title']:<44} {rss['summary']} (goal <= {rss['goal_mb']} MB)")
    for section in ("federation", "scale"):
        for entry in results.get(section, []):
            if entry["status"] != "ok":
                lines.append(f"{entry['title']:<44} {entry['status']}: {entry.get('reason', '')}")
            else:
                lines.append(f"{entry['title']:<44} {entry['summary']}")
    return "\n".join(lines)


def write_json(results: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "latest.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    shutil.copyfile(path, out_dir / f"latest-{results['database']}.json")
    return path


def draw_chart(results: dict[str, Any], out_dir: Path) -> tuple[Path | None, str]:
    """A PNG of every ratio against its goal. Without matplotlib: no chart and a clear message."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None, ("chart skipped: matplotlib is not installed (pip install matplotlib, or "
                      "pip install -e \".[bench]\"); the figures are in the JSON")
    rows = []
    for entry in results.get("scenarios", []):
        for connections, run in entry.get("runs", {}).items():
            if run.get("ratio") is not None:
                rows.append((f"{entry['title']}  [{connections} conns]", run["ratio"],
                             entry.get("goal_for_database"), run["rps"]))
    for entry in results.get("federation", []):
        if entry["status"] == "ok" and entry.get("ratio") is not None:
            rows.append((entry["title"], entry["ratio"], entry.get("goal"), None))
    if not rows:
        return None, "chart skipped: no scenario produced a ratio"
    out_dir.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(11, 0.45 * len(rows) + 1.8))
    labels = [r[0] for r in rows][::-1]
    ratios = [r[1] * 100 for r in rows][::-1]
    goals = [r[2] for r in rows][::-1]
    colors = ["#2a9d8f" if g is None or r >= g * 100 else "#e76f51" for r, g in zip(ratios, goals, strict=True)]
    bars = ax.barh(range(len(rows)), ratios, color=colors)
    for i, goal in enumerate(goals):
        if goal is not None:
            ax.plot([goal * 100, goal * 100], [i - 0.4, i + 0.4], color="black", linewidth=2)
    for bar, row in zip(bars, rows[::-1], strict=True):
        text = f"{row[1] * 100:.0f} %" + (f"  ({row[3]:,.0f} req/s)" if row[3] else "")
        ax.text(bar.get_width() + 0.5, bar.get_y() + bar.get_height() / 2, text, va="center", fontsize=8)
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.set_xlabel("% of bare Flask under the same gunicorn (black mark: goal)")
    machine = results["machine"]
    ax.set_title(f"Coopol on {results['database']} ({results['size']} seed), {machine['cpu_model']}, "
                 f"{machine['cores']} cores, {machine['load_generator']}", fontsize=9)
    ax.set_xlim(0, max(100, max(ratios) * 1.25))
    fig.tight_layout()
    path = out_dir / "latest.png"
    fig.savefig(path, dpi=110)
    shutil.copyfile(path, out_dir / f"latest-{results['database']}.png")
    plt.close(fig)
    return path, f"chart: {path}"


def markdown(results: dict[str, Any]) -> str:
    """The figures as a Markdown table, for README's Benchmarks section."""
    goal_col = f"goal ({results['database']})"
    lines = [f"| scenario | conns | req/s | p50 ms | p99 ms | ratio to bare Flask | {goal_col} |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for connections, ref in results.get("bare", {}).items():
        lines.append(f"| bare Flask, same gunicorn | {connections} | {ref['rps']:,.0f} | {ref['p50_ms']:.1f} | "
                     f"{ref['p99_ms']:.1f} | 1.00 | |")
    for entry in results.get("scenarios", []):
        title = entry["title"].replace("|", "\\|")
        if not entry.get("runs"):
            lines.append(f"| {title} | | | | | {entry['status']}: {entry.get('reason', '')} | |")
            continue
        goal = entry.get("goal_for_database")
        for connections, run in entry["runs"].items():
            flag = "" if entry["status"] == "ok" else f" ({entry['status']}: see below)"
            lines.append(f"| {title} | {connections} | {run['rps']:,.0f} | {run['p50_ms']:.1f} | {run['p99_ms']:.1f} | "
                         f"{_fmt(run.get('ratio'), '.2f')}{flag} | {_fmt(goal, '.2f')} |")
    if results.get("rss"):
        rss = results["rss"]
        lines.append(f"| {rss['title']} | | | | | {rss['summary']} | <= {rss['goal_mb']} MB |")
    for entry in results.get("federation", []) + results.get("scale", []):
        text = entry["summary"] if entry["status"] == "ok" else f"{entry['status']}: {entry.get('reason', '')}"
        lines.append(f"| {entry['title']} | | | | | {text} | {_fmt(entry.get('goal'))} |")
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    for name in sys.argv[1:]:
        data = json.loads(Path(name).read_text())
        print(f"{data['database']}, {data['size']} seed, {data['started_at']}: {one_line(data['machine'])}\n")
        print(markdown(data) + "\n")
