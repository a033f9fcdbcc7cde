"""Nussenbaum et al. 2020's (and Decker et al. 2016's) published files and conventions, on committed excerpts
(``tests/data/nussenbaum2020``, with their provenance): the loader reads them as they are, and the hybrid model
equals the authors' ``mbmf_lik.m`` under their driver's conventions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from metarl_neuro.analysis import fit_hybrid, from_nussenbaum2020, hybrid_nll, stay_probability
from metarl_neuro.analysis.hybrid import prior_preset

DATA = Path(__file__).resolve().parents[1] / "data" / "nussenbaum2020"
FIT_COLUMNS = ["index", "alpha", "beta_mb", "beta_mf", "beta", "lambda", "stick", "lik", "subject"]


def mbmf_lik(c1, c2, money, state, choice10, alpha, beta_mb, beta_mf, beta, lam, stick):
    """A line-by-line transcription of the authors' ``mbmf_lik.m`` (1-based codes; returns -log posterior)."""
    lik, Q, Tm = 0.0, np.zeros((3, 2)), np.array([[0.7, 0.3], [0.3, 0.7]])
    for i in range(len(c1)):
        prior_choice = np.zeros(2)
        prior_choice[(choice10 if i == 0 else c1[i - 1]) - 1] = 1
        max_q = Q.max(1)[1:]
        q_mb = np.array([np.sum(max_q * Tm[:, 0]), np.sum(max_q * Tm[:, 1])])
        z = beta_mf * Q[0] + beta_mb * q_mb + stick * prior_choice
        lik += z[c1[i] - 1] - np.log(np.exp(z).sum())
        z2 = beta * Q[state[i] - 1]
        lik += z2[c2[i] - 1] - np.log(np.exp(z2).sum())
        td1 = Q[state[i] - 1, c2[i] - 1] - Q[0, c1[i] - 1]
        td2 = money[i] - Q[state[i] - 1, c2[i] - 1]
        Q[0, c1[i] - 1] += alpha * td1 + lam * alpha * td2
        Q[state[i] - 1, c2[i] - 1] += alpha * td2
    lik += (stats.beta.logpdf(alpha, 1.1, 1.1) + stats.gamma.logpdf(beta, 3) + stats.gamma.logpdf(beta_mb, 3)
            + stats.gamma.logpdf(beta_mf, 3) + stats.beta.logpdf(lam, 1.1, 1.1) + stats.norm.logpdf(stick, 0, 10))
    return -lik


def driver(raw: pd.DataFrame):
    """``mbmf_driver.m``'s data preparation: trials 10 on, without those where a choice or the state is 0; the
    prior choice of the first is trial 9's first-stage choice (8's if 9 has none)."""
    c1, c2, s = (np.nan_to_num(raw[k].to_numpy()).astype(int) for k in ("choice_1", "choice_2", "state"))
    keep = (np.arange(len(c1)) >= 9) & ~((c1 == 0) | (c2 == 0) | (s == 0))
    return c1[keep], c2[keep], raw["reward"].to_numpy(float)[keep], s[keep], c1[8] if c1[8] else c1[7]


def published():
    """The raw trials and the published fits of the four subjects of the excerpts."""
    raw = pd.concat([pd.read_csv(DATA / "online_data_for_matlab_excerpt.txt"),
                     pd.read_csv(DATA / "decker2016_excerpt.csv", dtype={"subject_id": str})], ignore_index=True)
    fits = pd.concat([pd.read_csv(DATA / "online_fits_excerpt.txt", sep="\t", header=None, names=FIT_COLUMNS),
                      pd.read_csv(DATA / "decker_fits_excerpt.txt", header=None, names=FIT_COLUMNS)], ignore_index=True)
    fits["subject"] = fits["subject"].astype(str)
    return raw, fits.set_index("subject")


def ours(row) -> dict:
    return {"alpha": row["alpha"], "beta_mb": row["beta_mb"], "beta_mf": row["beta_mf"], "beta2": row["beta"],
            "lam": row["lambda"], "st": row["stick"]}


def test_loader_reads_the_published_files_with_the_authors_conventions():
    raw, _ = published()
    trials = from_nussenbaum2020(raw)
    by = trials.set_index(["subject", "trial"])
    # state 0 with both choices made: missed, as the authors' fits drop it (25 rows of the online file; sub102 has 5)
    zero = raw[(raw["state"] == 0) & (raw["choice_1"] > 0) & (raw["choice_2"] > 0)]
    assert len(zero) == 6 and by.loc[[(s, t - 1) for s, t in zip(zero["subject_id"], zero["trial"])], "missed"].all()
    # 972's trial 9: a first-stage choice (1) and a missed second stage; the choice is kept aside
    assert by.loc[("972", 8), "missed"] and by.loc[("972", 8), "choice1_recorded"] == 0
    assert by.loc[("972", 7), "choice1_recorded"] == by.loc[("972", 7), "choice1"] == 1
    # 1895's last trial: both choices, no reward recorded; a completed choice with a NaN reward
    last = by.loc[("1895", 151)]
    assert not last["missed"] and last["choice1"] == 1 and np.isnan(last["reward"])
    assert len(trials) == len(raw) and trials["missed"].sum() == (
        (raw[["choice_1", "choice_2", "state"]].fillna(0) == 0).any(axis=1).sum())


def test_a_nan_reward_only_on_a_last_trial():
    raw, _ = published()
    one = raw[raw["subject_id"] == "1895"].copy()
    one.loc[one.index[100], "reward"] = np.nan
    with pytest.raises(ValueError, match="only an episode's last trial may have an unrecorded reward"):
        from_nussenbaum2020(one)


def test_likelihood_equals_the_authors_mbmf_lik_at_their_published_fits():
    """All four subjects, 972 and 1895 included, to 1e-9 nats; and the published objective (printed to 5
    significant digits, at parameters printed to 5-7) within its rounding."""
    raw, fits = published()
    trials = from_nussenbaum2020(raw)
    prior = prior_preset("nussenbaum2020", "otto2013")
    for subject, row in fits.iterrows():
        par = ours(row)
        nll = hybrid_nll(par, trials[trials["subject"] == subject], variant="otto2013", start_trial=9,
                         start_values="reset")
        log_prior = sum(float(prior[k].log_prob(torch.tensor(float(v), dtype=torch.float64))) for k, v in par.items())
        theirs = mbmf_lik(*driver(raw[raw["subject_id"] == subject]), row["alpha"], row["beta_mb"], row["beta_mf"],
                          row["beta"], row["lambda"], row["stick"])
        assert nll - log_prior == pytest.approx(theirs, abs=1e-9), subject
        assert theirs == pytest.approx(row["lik"], abs=0.06), subject
    # trial 9's recorded choice matters: without it (the last completed trial, 8, carried in) 972 is another number
    no_record = trials.drop(columns="choice1_recorded")
    other = hybrid_nll(ours(fits.loc["972"]), no_record[no_record["subject"] == "972"], variant="otto2013",
                       start_trial=9, start_values="reset")
    assert abs(other - hybrid_nll(ours(fits.loc["972"]), trials[trials["subject"] == "972"], variant="otto2013",
                                  start_trial=9, start_values="reset")) > 0.1


def test_stay_cells_equal_the_authors_stay_column():
    raw, _ = published()
    trials = from_nussenbaum2020(raw[raw["subject_id"].isin(["sub100", "sub102"])])
    proc = pd.read_csv(DATA / "online_data_processed_excerpt.txt")
    theirs = proc.groupby(["subject_id", "previous_reward", "previous_transition"])["stay"].mean().reset_index()
    theirs = theirs.assign(subject=theirs["subject_id"], rewarded=theirs["previous_reward"].eq("Reward"),
                           transition=theirs["previous_transition"])
    cells = stay_probability(trials, by_subject=True, min_trial=9, bridge_missed=True)
    m = theirs.merge(cells, on=["subject", "rewarded", "transition"], validate="one_to_one")
    assert len(m) == 8 and np.allclose(m["stay"], m["p_stay"], atol=1e-12)
    # without bridging, trials after a missed one are not counted: another table
    plain = stay_probability(trials, by_subject=True, min_trial=9)
    assert plain["n_trials"].sum() < cells["n_trials"].sum()


@pytest.mark.slow
def test_map_fit_is_no_worse_than_the_published_fits():
    """Under the authors' priors and bounds (the ``nussenbaum2020`` presets: rates and inverse temperatures from
    1e-6, as their Fit.LB), no subject ends worse than the authors' objective at their published point."""
    raw, fits = published()
    trials = from_nussenbaum2020(raw)
    fit = fit_hybrid(trials, variant="otto2013", start_trial=9, start_values="reset", method="map",
                     priors="nussenbaum2020", bounds="nussenbaum2020").set_index("subject")
    for subject, row in fits.iterrows():
        theirs = mbmf_lik(*driver(raw[raw["subject_id"] == subject]), row["alpha"], row["beta_mb"], row["beta_mf"],
                          row["beta"], row["lambda"], row["stick"])
        assert fit.loc[subject, "objective"] <= theirs + 1e-4, subject
        assert fit.loc[subject, "alpha"] >= 1e-6
