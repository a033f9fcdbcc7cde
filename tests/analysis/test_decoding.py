import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from metarl_neuro.analysis.decoding import decode_hidden, population_pca, trial_states, unit_tuning


def synthetic(signal: float, n_episodes: int = 30, n_trials: int = 25, n_units: int = 6, seed: int = 0) -> xr.Dataset:
    """A compressed-structure activations dataset (one step per trial). With ``signal > 0``, unit 0 at each
    trial's step is ``signal * (previous outcome - 0.5)`` plus unit-variance noise; all else is noise."""
    rng = np.random.default_rng(seed)
    E, T = n_episodes, n_trials
    outcome = rng.integers(0, 2, (E, T)).astype(np.float32)
    h = rng.standard_normal((E, T, n_units)).astype(np.float32)
    prev = np.concatenate([np.zeros((E, 1)), outcome[:, :-1]], 1)
    h[:, :, 0] += signal * (prev - 0.5)
    p0 = rng.random((E, T)).astype(np.float32)
    step = ("episode", "step")
    return xr.Dataset(
        {"h": (("episode", "step", "unit"), h), "value": (step, rng.standard_normal((E, T)).astype(np.float32))},
        coords={
            "episode": np.arange(E), "step": np.arange(T), "unit": np.arange(n_units),
            "active": (step, np.ones((E, T), bool)), "trial": (step, np.tile(np.arange(T), (E, 1))),
            "trial_end": (step, np.ones((E, T), bool)), "choice1": (step, rng.integers(0, 2, (E, T))),
            "common": (step, rng.random((E, T)) < 0.8), "outcome": (step, outcome),
            "reward_prob_0": (step, p0), "reward_prob_1": (step, 1 - p0),
        },
    )


def test_a_coded_variable_is_decoded_far_above_chance():
    t = decode_hidden(synthetic(4.0), targets=["prev_reward", "prev_choice"], n_permutations=20).set_index("target")
    assert t.loc["prev_reward", "mean"] > 0.85 and t.loc["prev_reward", "mean"] > t.loc["prev_reward", "chance_hi"]
    assert t.loc["prev_reward", "p_value"] == pytest.approx(1 / 21)  # no permutation did as well
    # no signal for the previous choice: within the permutation chance band
    assert t.loc["prev_choice", "chance_lo"] - 0.05 <= t.loc["prev_choice", "mean"] <= t.loc["prev_choice", "chance_hi"] + 0.05
    assert t.loc["prev_choice", "p_value"] > 0.01


def test_no_signal_scores_within_the_chance_band():
    t = decode_hidden(synthetic(0.0, seed=3), targets=["prev_reward"], n_permutations=30).iloc[0]
    assert abs(t["mean"] - 0.5) < 0.05 and t["p_value"] > 0.01


def test_episode_order_does_not_matter():
    ds = synthetic(2.0)
    shuffled = ds.isel(episode=np.random.default_rng(1).permutation(ds.sizes["episode"]))
    a = decode_hidden(ds, targets=["prev_reward"], n_permutations=10)
    b = decode_hidden(shuffled, targets=["prev_reward"], n_permutations=10)
    assert a.equals(b)
    Xa, ta = trial_states(ds)
    Xb, tb = trial_states(shuffled)
    assert np.array_equal(Xa, Xb) and ta.equals(tb)


def test_unit_tuning_finds_the_coding_unit():
    res = unit_tuning(synthetic(3.0), variables=("prev_reward", "prev_action"))
    u = res.units.set_index(["unit", "variable"])
    assert u.loc[(0, "prev_reward"), "significant"] and u.loc[(0, "prev_reward"), "partial_r"] > 0.5
    frac = res.summary.set_index("variable")["fraction_significant"]
    assert frac["prev_reward"] == pytest.approx(1 / 6)  # only unit 0 (FDR 5%: noise units stay out here)
    assert frac["prev_action"] <= 1 / 6


def test_population_pca_shapes():
    p = population_pca(synthetic(3.0), n_components=3)
    assert p["scores"].dims == ("sample", "component") and p.sizes["component"] == 3
    assert p["explained_variance_ratio"].values[0] >= p["explained_variance_ratio"].values[1]
    assert "prev_reward" in p.coords


def test_bad_input_is_named(tmp_path):
    ds = synthetic(1.0)
    with pytest.raises(ValueError, match=r"unknown target\(s\) \['mood'\]"):
        decode_hidden(ds, targets=["mood"])
    with pytest.raises(ValueError, match=r"lacks \['h'\]"):
        decode_hidden(ds.drop_vars("h"))
    with pytest.raises(TypeError, match=r"take data, not a path: Run.load\("):
        decode_hidden(tmp_path)  # the analyses read no file (issue 26)
    with pytest.raises(ValueError, match="unknown variable"):
        unit_tuning(ds, variables=("mood",))


def test_figures_and_their_bad_input():
    import matplotlib.pyplot as plt

    from metarl_neuro.analysis import plot_decoding, plot_population_pca, plot_unit_tuning

    ds = synthetic(3.0)
    table = decode_hidden(ds, targets=["prev_reward", "value"], n_permutations=5)
    tuning = unit_tuning(ds, variables=("prev_reward", "value"))
    pca = population_pca(ds)
    for fig in (plot_decoding(table), plot_unit_tuning(tuning.units), plot_population_pca(pca, "prev_reward"),
                plot_population_pca(pca, "value")):
        assert len(fig.axes) >= 1
        plt.close(fig)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['chance_hi', 'chance_lo'\]"):
        plot_decoding(table.drop(columns=["chance_lo", "chance_hi"]))
    with pytest.raises(ValueError, match="color 'mood' is not a per-sample coordinate"):
        plot_population_pca(pca, "mood")


def cued_dataset(n_episodes=20, n_trials=30, seed=0):
    """A fixation / left / right activations dataset: unit 0 codes volatility, unit 1 the previous choice."""
    rng = np.random.default_rng(seed)
    S = 2 * n_trials
    trial = np.repeat(np.arange(n_trials), 2)[None].repeat(n_episodes, 0)
    phase = np.tile([0, 1], n_trials)[None].repeat(n_episodes, 0)
    choice_t = rng.integers(0, 2, (n_episodes, n_trials))
    choice_t[0, 4] = -1  # one missed trial
    volatile_t = (np.arange(n_trials) >= n_trials // 2)[None] ^ (np.arange(n_episodes) % 2 == 1)[:, None]
    choice = np.where(phase == 1, np.repeat(choice_t, 2, 1), -1)
    valid = ~((phase == 1) & (choice == -1))
    volatile = np.repeat(volatile_t, 2, 1)
    prev_choice = np.concatenate([np.zeros((n_episodes, 1), int), choice_t[:, :-1]], 1).repeat(2, 1)
    h = rng.normal(0, 0.3, (n_episodes, S, 8)).astype(np.float32)
    h[..., 0] += np.where(volatile, 1.0, -1.0)
    h[..., 1] += np.where(prev_choice == 1, 1.0, -1.0)
    pe = ("episode", "step")
    return xr.Dataset(
        {"h": (("episode", "step", "unit"), h), "value": (pe, rng.normal(size=(n_episodes, S)).astype(np.float32))},
        coords={"episode": np.arange(n_episodes), "step": np.arange(S), "unit": np.arange(8),
                "active": (pe, np.ones((n_episodes, S), bool)), "trial": (pe, trial), "phase": (pe, phase),
                "trial_end": (pe, phase == 1), "valid": (pe, valid), "choice": (pe, choice),
                "outcome": (pe, np.where(phase == 1, rng.integers(0, 2, (n_episodes, S)), 0).astype(np.float32)),
                "volatile": (pe, volatile)},
    )


def test_cued_task_datasets_decode_volatility_and_tune_units():
    ds = cued_dataset()
    _, trials = trial_states(ds)
    assert list(trials.columns) == ["episode", "trial", "step", "prev_reward", "prev_choice", "value", "volatile"]
    assert len(trials) == 20 * 29 - 1  # trial 0 of each episode and the trial after the missed one left out
    assert (trials["step"] % 2 == 0).all()  # trial start = the fixation step
    table = decode_hidden(ds, targets=["volatile", "prev_choice"], n_permutations=5)
    assert (table["mean"] > 0.95).all() and (table["chance"] < 0.7).all()
    tuning = unit_tuning(ds, ("prev_action", "prev_reward", "value", "volatile")).units
    sig = tuning[tuning["significant"]].groupby("variable")["unit"].apply(set)
    assert 0 in sig["volatile"] and 1 in sig["prev_action"] and 0 not in sig.get("prev_action", set())
    with pytest.raises(ValueError, match="unknown target"):
        decode_hidden(ds, targets=["better_state"])
    with pytest.raises(ValueError, match="lacks"):
        trial_states(ds.drop_vars(["choice"]))


def test_a_trial_table_given_for_the_activations_is_named():
    """Issue 13: a DataFrame failed deep inside with an unrelated message."""
    import pandas as pd

    from metarl_neuro.analysis import reversal_rpe, rpe_regression

    table = pd.DataFrame({"episode": [0], "trial": [0]})
    for call in (lambda: decode_hidden(table), lambda: unit_tuning(table), lambda: population_pca(table),
                 lambda: reversal_rpe(table), lambda: rpe_regression(table, table)):
        with pytest.raises(TypeError, match="a DataFrame is a trial table, which holds no LSTM activations"):
            call()


_NEEDED_VARIABLES = ["h", "value", "active", "trial", "trial_end", "choice1", "common", "outcome", "reward_prob_0"]


@pytest.mark.parametrize("analysis", ["decode_hidden", "unit_tuning", "population_pca"])
@settings(max_examples=4, deadline=None)
@given(variable=st.sampled_from(_NEEDED_VARIABLES), seed=st.integers(0, 2**16))
def test_a_dataset_missing_a_needed_variable_is_named(analysis, variable, seed):
    """Property test (issue 13): an activations dataset without one of the variables the analyses read is a
    ValueError naming it."""
    from metarl_neuro.analysis import decoding

    ds = synthetic(0.0, n_episodes=6, n_trials=8, seed=seed).drop_vars(variable)
    with pytest.raises(ValueError, match=variable):
        getattr(decoding, analysis)(ds)


def _switching_pca(path, n_blocks=6, block=10, state_values=(0, 1)):
    """A one-component PCA whose score follows ``path`` (per trial since a reversal) between 0 and 1."""
    side = np.tile(np.repeat([0, 1], block), n_blocks // 2)
    x = np.empty(len(side))
    for i in range(len(side)):
        k = i % block  # trials since the last reversal
        frac = path[min(k, len(path) - 1)]
        new, old = side[i], 1 - side[i]
        x[i] = old + (new - old) * frac if i >= block else new
    return xr.Dataset({"scores": (("sample", "component"), x[:, None])},
                      coords={"episode": ("sample", np.zeros(len(side), int)),
                              "trial": ("sample", np.arange(len(side))),
                              "rewarded_side": ("sample", np.array(state_values)[side])})


def test_latent_state_switch_tells_an_abrupt_switch_from_a_gradual_one():
    """Wang 2018 Fig. 4c as a number: a jump one trial after the reversal has abruptness 1 and switches at trial 1;
    a state drifting over 5 trials has abruptness 0.2 and passes half way at trial 3."""
    from metarl_neuro.analysis import latent_state_switch

    abrupt = latent_state_switch(_switching_pca([0, 1]))
    assert len(abrupt.reversals) == 5
    assert np.allclose(abrupt.reversals["abruptness"], 1.0) and (abrupt.reversals["switch_trial"] == 1).all()
    assert abrupt.trajectory["mean"].round(6).tolist() == [0, 0, 1, 1, 1, 1, 1]
    gradual = latent_state_switch(_switching_pca([0, 0.2, 0.4, 0.6, 0.8, 1.0]))
    assert np.allclose(gradual.reversals["abruptness"], 0.2)
    assert (gradual.reversals["switch_trial"] == 3).all()  # u = 0.6 three trials after the reversal
    assert abrupt.silhouette > 0.9


def test_latent_state_switch_refuses_bad_input():
    from metarl_neuro.analysis import latent_state_switch

    pca = _switching_pca([0, 1])
    with pytest.raises(ValueError, match="exactly two values"):
        latent_state_switch(pca.assign_coords(rewarded_side=("sample", np.arange(pca.sizes["sample"]) % 3)))
    with pytest.raises(ValueError, match="window"):
        latent_state_switch(pca, window=0)
    with pytest.raises(ValueError, match="no reversal has"):
        latent_state_switch(pca, window=12)
    with pytest.raises(ValueError, match="not a per-sample coordinate"):
        latent_state_switch(pca, state="volatile")


def test_bandit_state_pca_orders_episodes_by_the_arm_the_state_holds():
    """Wang 2018 Fig. 1e-f as a number: a state that carries p_L at the last trial ranks the episodes by p_L;
    trial 0's state, the same in every episode, ranks nothing (NaN, not a warning)."""
    from metarl_neuro.analysis import bandit_state_pca

    rng = np.random.default_rng(0)
    E, T, U = 40, 10, 6
    p = rng.uniform(size=E)
    h = rng.normal(scale=0.05, size=(E, T, U)).astype(np.float32)
    h[:, 1:, 0] += 3 * p[:, None]  # from trial 1 on, unit 0 holds p_L
    h[:, 0] = 0.0
    ds = xr.Dataset({"h": (("episode", "step", "unit"), h), "active": (("episode", "step"), np.ones((E, T), bool)),
                     "trial": (("episode", "step"), np.tile(np.arange(T), (E, 1))),
                     "mean_0": (("episode", "step"), np.repeat(p[:, None], T, 1))},
                    coords={"episode": np.arange(E)})
    pca = bandit_state_pca(ds)
    assert abs(pca.attrs["spearman_rho"]) > 0.99 and pca.sizes["sample"] == E
    assert (pca["trial"].values == T - 1).all()
    assert np.isnan(bandit_state_pca(ds, trial=0).attrs["spearman_rho"])
    with pytest.raises(ValueError, match="mean_1"):
        bandit_state_pca(ds, order_by="mean_1")
    with pytest.raises(ValueError, match="n_components"):
        bandit_state_pca(ds, n_components=7)


def test_block_tuning_counts_the_units_whose_block_means_differ():
    """Issue 24 (Sim 2's 37%): a unit that follows the volatile block is counted; noise units mostly are not."""
    from metarl_neuro.analysis import block_tuning

    rng = np.random.default_rng(1)
    E, T, U = 30, 40, 20
    volatile = np.zeros((E, T), bool)
    first = rng.random(E) < 0.5
    volatile[:, : T // 2] = first[:, None]
    volatile[:, T // 2:] = ~first[:, None]
    h = rng.normal(size=(E, T, U)).astype(np.float32)
    h[:, :, 0] += 1.0 * volatile
    step = ("episode", "step")
    ds = xr.Dataset({"h": (("episode", "step", "unit"), h), "active": (step, np.ones((E, T), bool)),
                     "trial": (step, np.tile(np.arange(T), (E, 1))), "trial_end": (step, np.ones((E, T), bool)),
                     "outcome": (step, rng.random((E, T)) < 0.5), "value": (step, np.zeros((E, T))),
                     "choice": (step, rng.integers(0, 2, (E, T))), "valid": (step, np.ones((E, T), bool)),
                     "volatile": (step, volatile)}, coords={"episode": np.arange(E)})
    out = block_tuning(ds)
    assert out.loc[0, "significant"] and out.loc[0, "mean_difference"] == pytest.approx(1.0, abs=0.2)
    assert out.attrs["n_episodes"] == E and out["significant"].sum() <= 4
    with pytest.raises(ValueError, match="alpha"):
        block_tuning(ds, alpha=1.5)
    with pytest.raises(ValueError, match="not a trial variable"):
        block_tuning(ds, variable="p_risky")


def harlow_activations(n_episodes: int = 40) -> xr.Dataset:
    """The activations of an untrained network on real 1-D Harlow episodes (the simulator's own logs)."""
    import torch

    from metarl_neuro.agents import A2CLSTM, run_frozen
    from metarl_neuro.logs import activations_dataset
    from metarl_neuro.tasks.harlow import HarlowTask

    torch.manual_seed(0)
    task = HarlowTask(batch_size=n_episodes, max_steps=120, seed=0)
    agent = A2CLSTM(task.obs_dim, task.n_actions, hidden_size=8)
    return activations_dataset(run_frozen(agent, task, torch.Generator().manual_seed(0)), gamma=0.9, attrs={})


def test_harlow_trials_read_the_simulator_logs_and_a_coded_side_is_decoded():
    ds = harlow_activations()
    X, t = trial_states(ds, at="outcome")
    # each row is a trial's last step (its choice): the task's own choice, side and correctness at that step
    e = np.searchsorted(ds["episode"].values, t["episode"].to_numpy())
    s = t["step"].to_numpy()
    assert ds["trial_end"].values[e, s].all() and (ds["trial"].values[e, s] == t["trial"].to_numpy()).all()
    assert (t["rewarded_side"].to_numpy() == ds["rewarded_side"].values[e, s]).all()
    assert np.array_equal(X, ds["h"].values[e, s])
    # prev_reward is whether the previous trial's choice was correct, within each episode
    prev = t.set_index(["episode", "trial"])
    correct = ds["correct"].values[e, s].astype(int)
    ends = dict(zip(zip(t["episode"], t["trial"]), correct))
    shared = [(ep, tr) for ep, tr in prev.index if (ep, tr - 1) in ends]
    assert shared and all(prev.loc[(ep, tr), "prev_reward"] == ends[(ep, tr - 1)] for ep, tr in shared)
    # the untrained network does not carry the side at the choice; a unit that codes it is decoded
    base = decode_hidden(ds, targets=["rewarded_side"], at="outcome", n_permutations=10).iloc[0]
    h = ds["h"].values.copy()
    h[..., 0] += 3.0 * (ds["rewarded_side"].values - 0.5)
    coded = decode_hidden(ds.assign(h=(ds["h"].dims, h)), targets=["rewarded_side"], at="outcome",
                          n_permutations=10).iloc[0]
    assert coded["mean"] > 0.9 > coded["chance_hi"] and coded["mean"] > base["mean"] + 0.2
