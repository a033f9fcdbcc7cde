"""The reproduction report across seeds: ``python -m metarl_neuro.report OUT``.

Per experiment: the seeds' numbers aggregated (mean, SEM, 95% CI, n, per-seed values), the paper's reported values and effects beside ours with agree / disagree per seed, the paper's panel redrawn from
the seeds, the learning curves, the config, the wall time and the environment.

:func:`write_report` writes ``OUT/report.html`` (one self-contained file, figures embedded) and ``OUT/report.md``
(its twin, figures in ``OUT/figures/``), plus ``OUT/aggregate/<experiment>_seeds.csv`` (one row per seed) and
``<experiment>_summary.csv`` (:func:`~metarl_neuro.analysis.across_seeds`). ``python -m metarl_neuro.report OUT``
rewrites them from the run folders.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import pandas as pd

from metarl_neuro import __version__
from metarl_neuro.analysis import across_seeds, bounds_for, curve_across_seeds, plot_seed_curves
from metarl_neuro.experiments import EXPERIMENTS
from metarl_neuro.experiments import get as get_experiment
from metarl_neuro.run import Run, atomic_write, read_seed_summary, save_figures

__all__ = ["PUBLISHED", "aggregate", "environment", "main", "publish", "write_report"]

#: learning-curve metric shown per experiment: the first of these its config measures
_CURVE_METRICS = ("gap", "correct_2_6", "regret", "reward")


def aggregate(out: Path, experiment: str, seeds: list[int]) -> dict | None:
    """One experiment's seeds, aggregated (None if no seed has finished).

    Parameters
    ----------
    out : pathlib.Path
        The reproduce root.
    experiment : str
        A registered experiment.
    seeds : list of int
        Its seeds.

    Returns
    -------
    dict
        ``per_seed`` (DataFrame: ``seed``, ``wall_s``, ``cpu_s`` (NaN where not recorded), ``resumed`` and the
        summary's metrics), ``summary``
        (:func:`~metarl_neuro.analysis.across_seeds` of the metrics), ``claims`` (DataFrame: ``paper``,
        ``metric``, ``ours`` (mean and 95% CI), ``agree`` ("k of n seeds"), ``per_seed`` ("✓ ✗ ..."), ``holds``: in every seed, None where shown only),
        ``runs``, ``config`` (the first seed's, without ``seed``), ``missing`` (seeds without a summary) and
        ``curve`` (``(metric, curve across seeds, the stacked evaluations)``, or None).
    """
    exp = get_experiment(experiment)
    rows, runs, missing = [], [], []
    for seed in seeds:
        folder = Path(out) / experiment / f"seed{seed}"
        saved = read_seed_summary(folder)
        if saved is None:
            missing.append(seed)
            continue
        rows.append({"seed": seed, "wall_s": saved["wall_s"], "cpu_s": saved.get("cpu_s", float("nan")),
                     "resumed": saved["resumed"], **saved["summary"]})
        runs.append(Run.load(folder))
    if not rows:
        return None
    per_seed = pd.DataFrame(rows)
    metrics = [c for c in per_seed.columns if c not in ("seed", "wall_s", "cpu_s", "resumed")]
    summary = across_seeds(per_seed, metrics, bounds=exp.bounded)
    claims = []
    for claim in exp.claims:
        if claim.metric not in per_seed.columns:
            continue
        s = summary.set_index("metric").loc[claim.metric]
        holds = [_holds(claim, r.dropna().to_dict()) for _, r in per_seed.iterrows()]
        known = [h for h in holds if h is not None]
        claims.append({
            "paper": claim.paper, "metric": claim.metric,
            "ours": f"{s['mean']:.3g} [{s['ci_lo']:.3g}, {s['ci_hi']:.3g}]" if s["n"] > 1 else f"{s['mean']:.3g}",
            "agree": f"{sum(known)} of {len(known)} seeds" if known else "shown only",
            "per_seed": " ".join("✓" if h else "✗" for h in known), "holds": (sum(known) == len(known)) if known else None,
            "falls_short": claim.falls_short if known and sum(known) < len(known) else "",
        })
    curve = None
    evals = []
    for seed, run in zip(per_seed["seed"], runs):
        e = run.evaluations_by_stage()  # through a curriculum's stages, where the run had one
        if len(e):
            evals.append(e.assign(seed=seed))
    if evals:
        table = pd.concat(evals, ignore_index=True)
        metric = next((m for m in _CURVE_METRICS if m in table.columns), None)
        if metric is not None:
            # one grid for every stage's tests: the greatest common spacing (a curriculum's stages may test more
            # often than the run itself)
            every = math.gcd(*table["eval_every"].dropna().astype("int64").unique()) or None
            curve = (metric, curve_across_seeds(table, metric, every=every,
                                                bounds=bounds_for(metric, exp.bounded)), table)
    config = {k: v for k, v in runs[0].meta["config"].items() if k != "seed"}
    return {"per_seed": per_seed, "summary": summary, "claims": pd.DataFrame(claims), "runs": runs, "config": config,
            "missing": missing, "curve": curve}


def _holds(claim, summary: dict) -> bool | None:
    """Whether a claim holds in one seed's summary; None where it is shown only, or the seed lacks a number it
    needs (a summary written by an older version)."""
    if claim.holds is None:
        return None
    try:
        return bool(claim.holds(summary))
    except KeyError:
        return None


def _cpu_hours(per_seed: pd.DataFrame) -> str:
    """The seeds' CPU time in hours, or their summed wall time marked "(wall)" where any seed lacks its CPU time."""
    cpu = per_seed["cpu_s"]
    return f"{cpu.sum() / 3600:.2f}" if cpu.notna().all() else f"{per_seed['wall_s'].sum() / 3600:.2f} (wall)"


def environment() -> dict:
    """Where the report was made: package, Python, torch, Ray, platform, CPU count and GPU (if any).

    Returns
    -------
    dict
        ``metarl_neuro``, ``python``, ``torch``, ``ray`` versions, ``platform``, ``cpus`` (int), ``gpu`` and ``date``.
    """
    import torch

    try:
        import ray
        ray_version = ray.__version__
    except ImportError:
        ray_version = "not installed"
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU)"
    return {"metarl_neuro": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "ray": ray_version, "platform": platform.platform(), "cpus": os.cpu_count(), "gpu": gpu,
            "date": time.strftime("%Y-%m-%d %H:%M")}


def _fmt(df: pd.DataFrame) -> pd.DataFrame:
    return df.apply(lambda c: c.map(lambda v: f"{v:.3g}" if isinstance(v, float) else v))


#: how the report's intervals over seeds are made (shown under every table of them)
INTERVAL_NOTE = ("The interval (column `interval`) is Student's t over seeds for an unbounded number; for a "
                 "probability or a percentage it is the percentile bootstrap of the mean over seeds "
                 "(scipy.stats.bootstrap, 9,999 resamples, seeded), which stays inside the metric's range; the "
                 "learning curves' bands are made the same way.")

_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>metarl_neuro reproduction report</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 13px; }
td, th { border: 1px solid #bbb; padding: 3px 7px; text-align: left; }
th { background: #eee; } .agree { color: #176; font-weight: bold; } .disagree { color: #a22; font-weight: bold; }
img { max-width: 48%; margin: 4px; vertical-align: top; border: 1px solid #ddd; }
section { border-top: 2px solid #444; margin-top: 2em; } code { font-size: 12px; }
</style></head><body>
<h1>metarl_neuro: reproduction of Wang et al. 2018 / 2016 across seeds</h1>
<p>{{ headline }}</p>
<h3>Every claim: the seeds in which it holds</h3>{{ claims_table }}
{% if short %}<p>Where a claim fails in some seed, what was measured about why:</p><ul>
{% for s in short %}<li>{{ s }}</li>{% endfor %}</ul>{% endif %}
{% if provenance %}<h3>How it was made</h3><table><tr><th>command</th><th>commit</th><th>date</th><th>status</th><th>wall time (min)</th><th>seeds run / skipped / failed</th></tr>
{% for p in provenance %}<tr><td><code>{{ p.command }}</code></td><td>{{ p.commit }}</td><td>{{ p.date }}</td><td>{{ p.status }}</td><td>{{ p.minutes }}</td><td>{{ p.seeds_run }} / {{ p.seeds_skipped }} / {{ p.seeds_failed }}</td></tr>{% endfor %}
</table>{% endif %}
<h3>Cost per experiment</h3>
<table><tr><th>experiment</th><th>seeds</th><th>paper's effects that hold in every seed</th><th>wall time per seed (s)</th><th>CPU-hours</th></tr>
{% for s in sections %}<tr><td><a href="#{{ s.name }}">{{ s.name }}</a></td><td>{{ s.n }}</td><td>{{ s.holds }}</td><td>{{ s.wall }}</td><td>{{ s.cpu_h }}</td></tr>{% endfor %}
</table>
<h3>Environment</h3><table>{% for k, v in env.items() %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}</table>
{% for s in sections %}<section id="{{ s.name }}"><h2>{{ s.name }}: {{ s.paper }}</h2>
{% if s.budget %}<p><b>Reduced budget:</b> {{ s.budget }}</p>{% endif %}
{% if s.missing %}<p class="disagree">No summary for seed(s) {{ s.missing }} (not finished or failed; see the logs).</p>{% endif %}
<h3>The paper beside ours</h3>{{ s.claims_html }}
<h3>Across seeds (mean, SEM, 95% interval over seeds)</h3><p>{{ interval_note }}</p>{{ s.summary_html }}
<div>{% for name, data in s.images %}<img alt="{{ name }}" src="data:image/png;base64,{{ data }}">{% endfor %}</div>
<details><summary>Per-seed values</summary>{{ s.per_seed_html }}</details>
<details><summary>Config</summary><code>{{ s.config }}</code></details>
</section>{% endfor %}
</body></html>
"""


def _minutes(seconds) -> str:
    return "" if seconds is None else f"{seconds / 60:.1f}"


def _provenance(out: Path) -> list[dict]:
    """The sweeps recorded in ``out/reproduce.json`` (:func:`metarl_neuro.reproduce.record_sweep`); [] if none."""
    path = Path(out) / "reproduce.json"
    if not path.exists():
        return []
    try:
        return list(json.loads(path.read_text())["sweeps"])
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path} is not a reproduce provenance file ({err})") from err


def write_report(out: Path, experiments: list[str], seeds: list[int], budget: str = "full",
                 sweep_wall_s: float | None = None) -> tuple[Path, Path]:
    """Aggregate each experiment's seeds under ``out`` and write ``report.html`` and ``report.md``.

    Parameters
    ----------
    out : pathlib.Path
        The ``reproduce`` root (``out/<experiment>/seed<k>/``).
    experiments : list of str
        Registered experiment names.
    seeds : list of int
        The seeds to aggregate (those without ``seed_summary.json`` are listed as missing).
    budget : {"full", "reduced"}
        The budget they ran at (a reduced one is stated per experiment).
    sweep_wall_s : float, optional
        Wall time of the sweep that made them, for the headline.

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        The HTML and markdown files.

    Raises
    ------
    OSError
        If ``out`` cannot be written (the message names the file).
    """
    import jinja2
    import markupsafe

    out = Path(out)
    figures = out / "figures"
    env = environment()
    provenance = _provenance(out)
    sections, md = [], ["# metarl_neuro: reproduction of Wang et al. 2018 / 2016 across seeds", ""]
    top = []  # one row per claim: the report's first table
    short = []  # the claims that fail in some seed, with what was measured about why
    for name in experiments:
        exp = get_experiment(name)
        agg = aggregate(out, name, seeds)
        if agg is None:
            sections.append({"name": name, "paper": exp.paper, "n": 0, "holds": "no seed finished", "wall": "", "cpu_h": "",
                             "budget": "", "missing": seeds, "claims_html": "", "summary_html": "",
                             "per_seed_html": "", "images": [], "config": ""})
            md += [f"## {name}: {exp.paper}", "", f"No seed finished (seeds {seeds}).", ""]
            for claim in exp.claims:  # the top table still lists what this experiment will test
                top.append({"experiment": name, "claim (paper)": claim.paper, "metric": claim.metric, "ours": "",
                            "seeds holding": f"none of {len(seeds)} finished yet" if claim.holds else "shown only"})
            continue
        per_seed, summary, claims = agg["per_seed"], agg["summary"], agg["claims"]
        atomic_write(out / "aggregate" / f"{name}_seeds.csv", lambda p, d=per_seed: d.to_csv(p, index=False))
        atomic_write(out / "aggregate" / f"{name}_summary.csv", lambda p, d=summary: d.to_csv(p, index=False))
        figs = []
        if exp.figure is not None:
            figs.append((f"{name}_seeds", exp.figure(agg["runs"], per_seed, title=name)))
        if agg["curve"] is not None:
            metric, curve, table = agg["curve"]
            figs.append((f"{name}_curve", plot_seed_curves(curve, metric, title=name, per_seed=table)))
        save_figures(figures, figs)
        images = [(f, base64.b64encode((figures / f"{f}.png").read_bytes()).decode()) for f, _ in figs]
        shown = summary.assign(values=summary["values"].map(lambda v: ", ".join(f"{x:.3g}" for x in v)))
        tested = claims["holds"].dropna() if len(claims) else pd.Series([], dtype=bool)
        holds = int(tested.astype(bool).sum())
        shown_claims = claims.drop(columns=["holds", "falls_short"]) if len(claims) else claims
        why = exp.reduced.get("why", "") if budget == "reduced" else ""
        wall = per_seed["wall_s"]
        resumed = int(per_seed["resumed"].astype(bool).sum())
        for _, c in claims.iterrows():
            top.append({"experiment": name, "claim (paper)": c["paper"], "metric": c["metric"], "ours": c["ours"],
                        "seeds holding": c["agree"]})
            if c["falls_short"]:
                short.append(f"- {name} `{c['metric']}` ({c['agree']}): {c['falls_short']}")
        sections.append({
            "name": name, "paper": exp.paper, "n": len(per_seed), "holds": f"{holds} of {len(tested)}",
            "wall": f"{wall.mean():.0f} (range {wall.min():.0f}-{wall.max():.0f})", "budget": why,
            "cpu_h": _cpu_hours(per_seed) + (f" ({resumed} seed(s) resumed: their last session only)"
                                             if resumed else ""),
            "missing": agg["missing"],
            "claims_html": shown_claims.to_html(index=False, escape=True).replace(
                "<td>✓", '<td class="agree">✓').replace("<td>✗", '<td class="disagree">✗'),
            "summary_html": _fmt(shown).to_html(index=False, escape=True),
            "per_seed_html": _fmt(per_seed).to_html(index=False, escape=True),
            "images": images, "config": json.dumps(agg["config"]),
        })
        md += [f"## {name}: {exp.paper}", ""]
        if why:
            md += [f"**Reduced budget:** {why}", ""]
        if agg["missing"]:
            md += [f"No summary for seed(s) {agg['missing']} (not finished or failed; see the logs).", ""]
        md += ["### The paper beside ours", "", shown_claims.to_markdown(index=False) if len(claims) else "(none)", "",
               "### Across seeds (mean, SEM, 95% interval over seeds)", "", INTERVAL_NOTE, "", _fmt(shown).to_markdown(index=False), "",
               *[f"![{f}](figures/{f}.png)" for f, _ in figs], "",
               f"Wall time per seed: {sections[-1]['wall']} s. Config: `{json.dumps(agg['config'])}`", ""]
    headline = (f"{len(seeds)} seed(s) per experiment ({budget} budget), made {env['date']}"
                + (f"; this sweep took {sweep_wall_s / 60:.1f} min" if sweep_wall_s is not None else "") + ".")
    top_table = pd.DataFrame(top, columns=["experiment", "claim (paper)", "metric", "ours", "seeds holding"])
    made = []
    if provenance:
        made = ["How it was made (each invocation of the sweep; `reproduce` skips the seeds already finished; "
                "`killed`: stopped without recording its end, found so when the next invocation started; "
                "`running`: still running, or killed on another host):", "",
                "| command | commit | date | status | wall time (min) | seeds run / skipped / failed |",
                "|---|---|---|---|---|---|",
                *[f"| `{p['command']}` | {p['commit']} | {p['date']} | {p.get('status', 'finished')} | "
                  f"{_minutes(p['wall_s'])} | {p['seeds_run']} / {p['seeds_skipped']} / {p['seeds_failed']} |"
                  for p in provenance], ""]
    why_short = (["Where a claim fails in some seed, what was measured about why:", "", *short, ""] if short else [])
    md[1:1] = ["", headline, "", "## Every claim: the seeds in which it holds", "",
               top_table.to_markdown(index=False) if len(top_table) else "(no claim measured)", "", *why_short, *made,
               "## Cost per experiment", "", "CPU-hours: the CPU time of the seeds' processes, summed (every "
               "thread of each; a seed's own wall time is inflated on a shared machine); where a seed recorded none "
               "(marked (wall)), the sum of the seeds' wall times, each seed on one core.", "",
               "| experiment | seeds | paper's effects that hold in every seed | wall time per seed (s) | CPU-hours |",
               "|---|---|---|---|---|",
               *[f"| {s['name']} | {s['n']} | {s['holds']} | {s['wall']} | {s['cpu_h']} |" for s in sections],
               "", "Environment: " + ", ".join(f"{k} {v}" for k, v in env.items()), ""]
    # every value is escaped (a config or a claim can hold any text); the tables are pandas' own escaped HTML
    for sec in sections:
        for key in ("claims_html", "summary_html", "per_seed_html"):
            sec[key] = markupsafe.Markup(sec[key])
    claims_table = markupsafe.Markup(top_table.to_html(index=False, escape=True))
    html = jinja2.Environment(autoescape=True).from_string(_HTML).render(
        sections=sections, env=env, headline=headline, interval_note=INTERVAL_NOTE, claims_table=claims_table,
        short=[line[2:] for line in short],
        provenance=[{**p, "status": p.get("status", "finished"), "minutes": _minutes(p["wall_s"])} for p in provenance])
    html_path = atomic_write(out / "report.html", lambda p: Path(p).write_text(html, encoding="utf-8"))
    md_path = atomic_write(out / "report.md", lambda p: Path(p).write_text("\n".join(md) + "\n", encoding="utf-8"))
    return html_path, md_path


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m metarl_neuro.report OUT``: rewrite the report of a ``reproduce`` root.

    Parameters
    ----------
    argv : list of str, optional
        The command-line arguments without the program's name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 done, 2 bad input or an unreadable / unwritable file (the message names it).
    """
    ap = argparse.ArgumentParser(prog="python -m metarl_neuro.report", description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="the reproduce root (runs/reproduce)")
    ap.add_argument("--budget", choices=("full", "reduced"), default="full")
    ap.add_argument("--publish", type=Path, default=None, metavar="DIR",
                    help="also copy what a committed reproduction holds into DIR (e.g. docs/reproduction): report.md, "
                         "report.html, figures/, aggregate/ and reproduce.json; no run folder, checkpoint or log")
    args = ap.parse_args(argv)
    if not args.out.is_dir():
        print(f"error: no reproduce root at {args.out}", file=sys.stderr)
        return 2
    names = [n for n in EXPERIMENTS if (args.out / n).is_dir()]
    seeds = sorted({int(p.name[4:]) for n in names for p in (args.out / n).glob("seed*") if p.name[4:].isdigit()})
    if not seeds:
        print(f"error: {args.out} holds no seed folder of any experiment (<experiment>/seed<k>/ of "
              f"{', '.join(EXPERIMENTS)}): nothing to report", file=sys.stderr)
        return 2
    try:
        html, md = write_report(args.out, names, seeds, args.budget)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"report: {html} and {md}")
    if args.publish is not None:
        try:
            copied = publish(args.out, args.publish)
        except OSError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(f"published {len(copied)} files to {args.publish}")
    return 0


#: what a committed reproduction holds (issue 24): the report, its figures and tables, how it was made
PUBLISHED = ("report.md", "report.html", "reproduce.json", "figures/*.png", "aggregate/*.csv")


def publish(out: Path, dest: Path) -> list[Path]:
    """Copy a reproduce root's report, figures, aggregate tables and provenance (:data:`PUBLISHED`) into ``dest``.

    Run folders, checkpoints and logs stay behind: ``dest`` is what a repository commits (``docs/reproduction``).
    Files of ``dest`` that the root no longer has are removed, so ``dest`` is the root's report and nothing else.

    Parameters
    ----------
    out : pathlib.Path
        The reproduce root.
    dest : pathlib.Path
        Where the report goes (e.g. ``docs/reproduction``).

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    OSError
        If a file cannot be read or written (the message names it), or the root has no ``report.md``.
    """
    import shutil

    out, dest = Path(out), Path(dest)
    if not (out / "report.md").is_file():
        raise FileNotFoundError(f"{out / 'report.md'}: no report to publish (run python -m metarl_neuro.report {out})")
    wanted = {p.relative_to(out) for pattern in PUBLISHED for p in out.glob(pattern) if p.is_file()}
    for old in [p for pattern in PUBLISHED for p in dest.glob(pattern) if p.is_file()]:
        if old.relative_to(dest) not in wanted:
            old.unlink()
    written = []
    for rel in sorted(wanted):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        written.append(atomic_write(target, lambda p, src=out / rel: shutil.copyfile(src, p)))
    return written


if __name__ == "__main__":
    sys.exit(main())
