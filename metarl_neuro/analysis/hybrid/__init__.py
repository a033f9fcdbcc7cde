"""Model-based / model-free hybrid models of the two-step task (Daw et al. 2011 and its descendants).

The wing, by concern:

- :mod:`~metarl_neuro.analysis.hybrid.parameters`: the variants' parameters, their domains, bounds and priors,
  and the named models (:data:`MODELS`);
- :mod:`~metarl_neuro.analysis.hybrid.model`: the value-update engine, the trial data it reads, the likelihood
  (:func:`hybrid_nll`) and the trial-by-trial values (:func:`hybrid_values`);
- :mod:`~metarl_neuro.analysis.hybrid.simulation`: simulated subjects (:func:`simulate_hybrid`);
- :mod:`~metarl_neuro.analysis.hybrid.fitting`: per-subject fits (:func:`fit_hybrid`) and their seams
  (:class:`~metarl_neuro.analysis.hybrid.fitting.FitProblem`, :class:`~metarl_neuro.analysis.hybrid.fitting.StartPool`);
- :mod:`~metarl_neuro.analysis.hybrid.selection`: model comparison (:func:`compare_models`,
  :func:`group_model_selection`).

The optimiser driver (``_lbfgsb``) is private to the wing.
"""

from metarl_neuro.analysis.hybrid.fitting import fit_hybrid
from metarl_neuro.analysis.hybrid.model import hybrid_nll, hybrid_values
from metarl_neuro.analysis.hybrid.parameters import (
    BOUNDS_PRESETS,
    MODELS,
    PARAMETER_DOMAINS,
    PRIOR_PRESETS,
    VARIANTS,
    bounds_of,
    check_priors,
    default_priors,
    domain_of,
    prior_preset,
)
from metarl_neuro.analysis.hybrid.selection import ModelSelection, compare_models, group_model_selection
from metarl_neuro.analysis.hybrid.simulation import simulate_hybrid

__all__ = [
    "BOUNDS_PRESETS", "MODELS", "PARAMETER_DOMAINS", "PRIOR_PRESETS", "VARIANTS", "ModelSelection", "bounds_of",
    "check_priors", "compare_models", "default_priors", "domain_of", "fit_hybrid", "group_model_selection",
    "hybrid_nll", "hybrid_values", "prior_preset", "simulate_hybrid",
]
