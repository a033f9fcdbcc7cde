"""metarl_neuro: fast, batched reproductions of the meta-RL simulations of Wang et al. 2016 and 2018."""

__version__ = "0.1.0"
