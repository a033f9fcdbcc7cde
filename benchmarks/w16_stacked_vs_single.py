"""Wang et al. 2016's stacked-against-single LSTM result on its form of the pixel Harlow task (issue 29, item 3).

W16 reports the share of seeds whose agents reached ceiling: 43% of 100 stacked-LSTM seeds, 26% of 100
single-LSTM seeds. This reads two ``reproduce harlow-w16`` folders, one per form, and prints per seed its tests
during training, the episodes from which it stayed off chance (that test and every later one above 65%), the
episodes at which the ceiling rule was met (held-out trials 2-10 >= 90% on ``--until-held``, two, 40-episode tests
in a row: harlow-w16's default ``--until``, which stops training) and its final test (200 held-out episodes: trial
1, trials 2-10). Then, for both readings of "at ceiling" (the rule met in training; the
final test's trials 2-10 >= 90%, the experiment's claim), the share of seeds with Wilson 95% intervals
(``statsmodels.stats.proportion.proportion_confint``) and Fisher's exact test of the two forms
(``scipy.stats.fisher_exact``), beside W16's; and the episodes each form took to meet the rule, with a Mann-Whitney
U test (``scipy.stats.mannwhitneyu``; a seed that never met it ranks last). Two more lines say what the seeds can
tell: each form's count against W16's share for that form (exact binomial test, ``scipy.stats.binomtest``: is this
setting's share W16's?), and the power of Fisher's test at these seed counts were the true shares W16's 43% and 26%
(exact, summed over every outcome of two binomials)::

    python benchmarks/w16_stacked_vs_single.py runs/w16_stacked runs/w16_single [--figure curves.png]

A seed stopped by the rule is tested once more, on 200 episodes, right where it crossed the threshold, so a seed
near 90% can meet the rule and fall short on the final test: the two readings are printed side by side.
``--figure`` also draws each seed's held-out trials 2-10 per test against episodes, one panel per form.
Only finished seeds count; a folder's unfinished seeds are listed with their tests so far. ``cpu_s`` sums the
recorded calls of a seed (an extended seed's earlier end included; a call that was stopped records none).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from scipy.stats import binom, binomtest, fisher_exact, mannwhitneyu
from statsmodels.stats.proportion import proportion_confint

from metarl_neuro.agents import Criterion
from metarl_neuro.run import Run, read_seed_summary

CEILING = 90.0  #: % correct on trials 2-10, the experiment's claim (harlow-w16's correct_2_6)
LEFT_CHANCE = 65.0  #: % on trials 2-10: chance is 50%, and a 40-episode test's 360 choices have a SE of 2.6 points
W16 = {"stacked": (43, 100), "single": (26, 100)}  #: W16's seeds at ceiling, of seeds run


def seeds(root: Path) -> tuple[str, pd.DataFrame]:
    """The form (stacked or single, from the seeds' configs) and one row per seed folder under ``root``."""
    rows, forms = [], set()
    for seed, folder in sorted((int(f.name[4:]), f) for f in (root / "harlow-w16").glob("seed*")):
        run = Run(folder)  # unfinished seeds too (Run.load wants a finished folder)
        forms.add("stacked" if run.config.stacked else "single")
        done = read_seed_summary(folder)
        e = run.evaluations
        # the ceiling rule itself, not the seed's --until (a seed may be trained with another rule or none)
        rule = Criterion.parse(f"correct_2_6>={CEILING:g}", ("correct_2_6",), run.config.until_held)
        curve = e.to_dict("records")
        met = next((int(curve[i - 1]["episodes"]) for i in range(1, len(curve) + 1) if rule.met(curve[:i])), None)
        # left chance for good: the first test from which every test is above LEFT_CHANCE
        above = list(e["correct_2_6"] > LEFT_CHANCE) if len(e) else []
        left = next((int(e["episodes"].iloc[i]) for i in range(len(above)) if all(above[i:])), None)
        row = {"seed": seed, "finished": done is not None,
               "tests": " / ".join(f"{v:.0f}" for v in e["correct_2_6"]) if len(e) else "",
               "left_chance_at": left, "rule_met_at": met,
               "episodes": int(e["episodes"].iloc[-1]) if len(e) else 0}
        if done is not None:
            s = done["summary"]
            # the CPU time of every recorded call: an extended seed's earlier end keeps its own summary (a call
            # that was stopped records none)
            earlier = [read_seed_summary(f) for f in folder.glob("extended_from_*")]
            row.update(rule="yes" if met is not None else "no", trial_1=s["trial_1"], correct_2_10=s["correct_2_6"],
                       final="yes" if s["correct_2_6"] >= CEILING else "no",
                       cpu_s=sum(d.get("cpu_s") or 0.0 for d in [done, *earlier] if d))
        row["curve"] = e[["episodes", "correct_2_6"]] if len(e) else None
        rows.append(row)
    if len(forms) != 1:
        raise ValueError(f"{root}: expected the seeds of one form (stacked or single), found {sorted(forms) or 'none'}")
    return forms.pop(), pd.DataFrame(rows)


def share(k: int, n: int) -> str:
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    return f"{k} of {n}, {100 * k / n:.0f}% [{100 * lo:.0f}, {100 * hi:.0f}]"


def fisher_p(counts: dict) -> float:
    """Fisher's exact test (two-sided p) of the shares at ceiling, ``{"stacked": (k, n), "single": (k, n)}``."""
    return fisher_exact([[k, n - k] for k, n in (counts["stacked"], counts["single"])])[1]


def w16_share(form: str) -> float:
    """W16's share of seeds at ceiling for ``form`` ("stacked" or "single"), from :data:`W16`."""
    k, n = W16[form]
    return k / n


def fisher_power(n_stacked: int, n_single: int, alpha: float = 0.05) -> float:
    """The chance that Fisher's exact test (two-sided) finds the forms differ at ``alpha`` with these many seeds,
    were each form's true share of seeds at ceiling W16's (43% stacked, 26% single): the probability of every
    outcome (k stacked, j single at ceiling) of two independent binomials, summed where the test's p < ``alpha``."""
    return float(sum(binom.pmf(k, n_stacked, w16_share("stacked")) * binom.pmf(j, n_single, w16_share("single"))
                     for k in range(n_stacked + 1) for j in range(n_single + 1)
                     if fisher_exact([[k, n_stacked - k], [j, n_single - j]])[1] < alpha))


def draw(tables: dict, at_ceiling: dict, path: Path) -> None:
    """Each seed's tests (held-out trials 2-10, %) against episodes, a panel per form, saved to ``path``;
    ``at_ceiling`` is ``{form: (seeds that met the rule, finished seeds)}``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharex=True, sharey=True, constrained_layout=True)
    for ax, form in zip(axes, ("stacked", "single")):
        t = tables[form]
        for row in t.itertuples():
            if row.curve is None:
                continue
            ax.plot(row.curve["episodes"] / 1000, row.curve["correct_2_6"], marker=".", lw=1,
                    ls="-" if row.finished else ":", label=f"seed {row.seed}")
        ax.axhline(CEILING, color="k", lw=0.6, ls="--")
        ax.axhline(50, color="0.6", lw=0.6)
        k, n = at_ceiling[form]
        ax.set_title(f"{form} LSTM: {k} of {n} finished seeds at ceiling in training", fontsize=9)
        ax.set_xlabel("training episodes (thousands)")
        ax.legend(fontsize=6, ncol=2, loc="lower right")
    axes[0].set_ylabel("held-out trials 2-10 correct (%)")
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs=2, type=Path, help="the two reproduce --out folders (either order)")
    p.add_argument("--figure", type=Path, help="also save the learning curves here (PNG, SVG, PDF)")
    args = p.parse_args(argv)
    tables = dict(seeds(f) for f in args.folders)
    if set(tables) != {"stacked", "single"}:
        raise SystemExit(f"error: the folders hold {sorted(tables)}, not one stacked and one single form")
    counts = {"rule": {}, "final": {}}
    for form, t in tables.items():
        print(f"\n## {form} LSTM\n")
        table = t.drop(columns="curve").astype({"left_chance_at": "Int64", "rule_met_at": "Int64"})
        print(table.to_markdown(index=False, floatfmt=".1f"))
        done = t[t["finished"]]
        for reading in counts:
            counts[reading][form] = (int((done[reading] == "yes").sum()) if len(done) else 0, len(done))
    print("\n| form | at ceiling in training (the rule met) [Wilson 95%] | final test trials 2-10 >= 90% "
          "[Wilson 95%] | W16 |\n|---|---|---|---|")
    for form in ("stacked", "single"):
        ours = [share(*counts[r][form]) if counts[r][form][1] else "no finished seed" for r in counts]
        print(f"| {form} | {' | '.join(ours)} | {share(*W16[form])} |")
    if all(n for _, n in counts["rule"].values()):
        rule, final, theirs = fisher_p(counts["rule"]), fisher_p(counts["final"]), fisher_p(W16)
        print(f"\nFisher's exact test, stacked against single: ours p = {rule:.3g} (in training), {final:.3g} (final "
              f"test); W16's counts p = {theirs:.3g}")
        n = {form: counts["rule"][form][1] for form in ("stacked", "single")}
        print(f"Its power at {n['stacked']} + {n['single']} seeds, were the true shares W16's "
              f"({100 * w16_share('stacked'):.0f}%, {100 * w16_share('single'):.0f}%): "
              f"{fisher_power(n['stacked'], n['single']):.2f}")
        for form in ("stacked", "single"):
            ps = [binomtest(*counts[r][form], w16_share(form)).pvalue for r in counts]
            print(f"{form}: is the share W16's {100 * w16_share(form):.0f}%? Exact binomial test p = {ps[0]:.2g} "
                  f"(in training), {ps[1]:.2g} (final test)")
    # where both shares are near all, the forms differ (if at all) in how soon: the episodes at which the rule was
    # met, every seed that never met it tied after every seed that did (Mann-Whitney uses ranks only)
    met_at = {form: t.loc[t["finished"], "rule_met_at"] for form, t in tables.items()}
    never = 1 + max((int(t["episodes"].max()) for t in tables.values()), default=0)
    soon = {form: [int(m) if pd.notna(m) else never for m in v] for form, v in met_at.items()}
    if all(soon.values()):
        print("\n| form | episodes to ceiling in training: median [range] of the seeds that met the rule | seeds that "
              "never met it |\n|---|---|---|")
        for form in ("stacked", "single"):
            met = met_at[form].dropna()
            span = f"{met.median():,.0f} [{met.min():,.0f}, {met.max():,.0f}]" if len(met) else "none met it"
            print(f"| {form} | {span} | {len(soon[form]) - len(met)} |")
        p_soon = mannwhitneyu(soon["stacked"], soon["single"], alternative="two-sided").pvalue
        print(f"\nMann-Whitney U test of the episodes to ceiling (a seed that never met the rule ranks last), stacked "
              f"against single: p = {p_soon:.3g}")
    if args.figure:
        draw(tables, counts["rule"], args.figure)
        print(f"\nlearning curves: {args.figure}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
