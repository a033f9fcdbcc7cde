"""The lockstep L-BFGS-B driver of the hybrid fits: one scipy L-BFGS-B per row, their evaluations batched.

This module is the one place in the package that uses a private SciPy interface (the reverse-communication core
``scipy.optimize._lbfgsb.setulb`` that ``scipy.optimize.minimize(method="L-BFGS-B")`` itself loops over). The public
interfaces were measured against it (issue 26; 20 simulated subjects x 200 trials, 10 random starts each, daw2011
MLE, one core): this driver 5.5 s; ``minimize`` per row in a thread each, answered in lockstep, 9.5-10.5 s with the
same optima (and the adaptive strategy's 10,000-row profile rounds ran for minutes); ``minimize`` over the stacked
rows 98 s, with 10 of 20 subjects worse by up to 0.73 nats (one line search and one stopping rule for every row).
``pyproject.toml`` therefore bounds SciPy to the releases this signature was tested on, and
``tests/analysis/test_hybrid.py::test_the_private_lbfgsb_core_is_the_one_minimize_uses`` fails with a clear message when it changes (:func:`check_scipy`).
"""

from __future__ import annotations

import functools

import numpy as np
import scipy
from scipy import optimize

#: the SciPy releases whose private L-BFGS-B core this driver was tested on (pyproject.toml holds the same range)
TESTED = ">=1.15,<1.18"

__all__ = ["check_scipy", "minimize_lockstep"]


def minimize_lockstep(evaluate, x0: np.ndarray, bounds: np.ndarray, maxiter: int, m: int = 10,
                       factr: float = 1e7, pgtol: float = 1e-5, maxls: int = 20) -> list:
    """One scipy L-BFGS-B per row of ``x0``, driven in lockstep so that their function evaluations are batched.

    Drives scipy's L-BFGS-B core (``scipy.optimize._lbfgsb.setulb``, the reverse-communication routine that
    ``scipy.optimize.minimize(method="L-BFGS-B")`` itself loops over, SciPy >= 1.15) for every row: each
    round, every optimiser still running asks for ``f, g`` at a point, and ``evaluate(rows, X) -> (f, grad,
    extra)`` answers all of them in one vectorised pass. Settings are ``minimize``'s defaults (``maxcor`` 10,
    ``ftol`` = ``factr`` * eps, ``gtol`` 1e-5, ``maxls`` 20).

    Returns
    -------
    list of scipy.optimize.OptimizeResult
        ``x``, ``fun``, ``success``, ``message``, ``nit`` per row.
    """
    return _drive(check_scipy(), evaluate, x0, bounds, maxiter, m, factr, pgtol, maxls)


def _drive(core, evaluate, x0, bounds, maxiter, m=10, factr=1e7, pgtol=1e-5, maxls=20) -> list:
    """:func:`minimize_lockstep` with SciPy's core ``(setulb, status_messages, task_messages)`` given."""
    setulb, status_messages, task_messages = core
    R, n = x0.shape
    nbd = np.full(n, 2, np.int32)  # both bounds
    lo, hi = bounds[:, 0].astype(np.float64), bounds[:, 1].astype(np.float64)
    st = [
        {
            "x": np.clip(x0[r], lo, hi).astype(np.float64),
            "f": np.array(0.0),
            "g": np.zeros(n),
            "wa": np.zeros(2 * m * n + 5 * n + 11 * m * m + 8 * m),
            "iwa": np.zeros(3 * n, np.int32),
            "task": np.zeros(2, np.int32),
            "ln_task": np.zeros(2, np.int32),
            "lsave": np.zeros(4, np.int32),
            "isave": np.zeros(44, np.int32),
            "dsave": np.zeros(29),
            "nit": 0,
            "nfev": 0,
        }
        for r in range(R)
    ]
    factr_eps = factr  # setulb multiplies by machine epsilon itself
    running = list(range(R))
    while running:
        asking = []
        for r in running:
            s_ = st[r]
            while True:
                setulb(m, s_["x"], lo, hi, nbd, s_["f"], s_["g"], factr_eps, pgtol, s_["wa"], s_["iwa"],
                               s_["task"], s_["lsave"], s_["isave"], s_["dsave"], maxls, s_["ln_task"])
                if s_["task"][0] == 3:  # wants f and g at x
                    asking.append(r)
                    break
                if s_["task"][0] == 1:  # a new iteration
                    s_["nit"] += 1
                    if s_["nit"] >= maxiter:
                        s_["task"][:] = (5, 504)
                        break
                    continue
                break  # converged (4) or stopped
        running = asking
        if not asking:
            break
        rows = np.array(asking)
        try:
            f, g, _ = evaluate(rows, np.stack([st[r]["x"] for r in rows]))
        except (RuntimeError, ValueError, FloatingPointError):  # e.g. non-finite values: those points get f = inf
            f, g = np.full(len(rows), np.inf), np.zeros((len(rows), n))
        for j, r in enumerate(rows):
            st[r]["f"] = np.array(f[j] if np.isfinite(f[j]) else np.inf)
            st[r]["g"] = np.asarray(g[j], dtype=np.float64)
            st[r]["nfev"] += 1
    out = []
    for s_ in st:
        task = s_["task"]
        out.append(
            optimize.OptimizeResult(
                x=s_["x"].copy(), fun=float(s_["f"]), success=bool(task[0] == 4), nit=s_["nit"], nfev=s_["nfev"],
                message=status_messages[task[0]] + ": " + task_messages[task[1]],
            )
        )
    return out




def _private_core():
    """SciPy's L-BFGS-B core and its messages (private names; :func:`check_scipy` guards them)."""
    from scipy.optimize import _lbfgsb
    from scipy.optimize._lbfgsb_py import status_messages, task_messages

    return _lbfgsb.setulb, status_messages, task_messages


@functools.cache
def check_scipy():
    """SciPy's private L-BFGS-B core, checked once per process against the public ``scipy.optimize.minimize``.

    Drives a small bounded problem (a shifted quadratic with one bound active, and Rosenbrock's function) through
    the private core and through ``minimize(method="L-BFGS-B")``, which loops over the same core; both must
    return the same point and the same iteration count.

    Returns
    -------
    tuple
        ``(setulb, status_messages, task_messages)``.

    Raises
    ------
    RuntimeError
        If the installed SciPy lacks the private names or its core answers differently: the message names the
        installed version and :data:`TESTED`.
    """
    fail = (f"SciPy {scipy.__version__} changed the private L-BFGS-B core (scipy.optimize._lbfgsb.setulb) that "
            f"metarl_neuro's hybrid-model fits drive in lockstep; install a tested SciPy (pip install "
            f"'scipy{TESTED}') or report it at metarl_neuro's issues")
    try:
        core = _private_core()
    except (ImportError, AttributeError) as err:
        raise RuntimeError(f"{fail} ({err})") from err
    problems = [
        (lambda x: (float(((x - 2.0) ** 2).sum()), 2 * (x - 2.0)), np.array([[0.0, 0.0]]), np.array([[-1.0, 1.5], [-1.0, 3.0]])),
        (lambda x: (float(100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2),
                    np.array([-400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0]), 200 * (x[1] - x[0] ** 2)])),
         np.array([[-1.2, 1.0]]), np.array([[-2.0, 2.0], [-2.0, 2.0]])),
    ]
    for fun, x0, box in problems:
        def evaluate(rows, X, fun=fun):
            f, g = fun(X[0])
            return np.array([f]), g[None], None

        try:
            mine = _drive(core, evaluate, x0, box, maxiter=200)[0]
        except Exception as err:  # noqa: BLE001 - any failure of the private call is the signal
            raise RuntimeError(f"{fail} ({type(err).__name__}: {err})") from err
        ref = optimize.minimize(fun, x0[0], jac=True, method="L-BFGS-B", bounds=box, options={"maxiter": 200})
        if not (np.allclose(mine.x, ref.x, rtol=0, atol=1e-10) and mine.nit == ref.nit and mine.success == ref.success):
            raise RuntimeError(f"{fail} (on a test problem it ended at {mine.x} after {mine.nit} iterations; "
                               f"scipy.optimize.minimize at {ref.x} after {ref.nit})")
    return core
