"""Every (experiment, seed) as a Ray task, then one report across seeds beside the paper's numbers.

``python -m metarl_neuro.reproduce [EXPERIMENT ...] --seeds N``.

Example::

    python -m metarl_neuro.reproduce --seeds 2 --budget reduced       # every simulation, 2 seeds, on this machine
    python -m metarl_neuro.reproduce two-step --seeds 8                # Wang 2018 Fig. 5c from 8 seeds
    python -m metarl_neuro.reproduce two-step --seeds 8 --address auto   # join a running Ray cluster (Slurm, k8s)

Each task trains and tests one seed into an ordinary run folder ``OUT/<experiment>/seed<k>/`` (its printed report
in ``OUT/logs/``) and returns the seed's summary (the paper's effects as numbers, ``seed_summary.json``). Only
names, config values and numbers cross the task boundary; a task builds its own tasks and Lab instances.
Rerunning the same command skips finished seeds and resumes killed ones from their checkpoints; rerunning it with
a longer ``--set EXPERIMENT.episodes=N`` trains finished seeds on to N episodes (``extend_run``: the same result as
a run started with N, the earlier end kept in the run folder), and retests a frozen test whose network changed.
Then
:mod:`metarl_neuro.report` writes ``OUT/report.html`` (figures embedded) and its markdown twin ``OUT/report.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from metarl_neuro.experiments import EXPERIMENTS, NETWORK_FIELDS, config_hash, extend_run, parse_field
from metarl_neuro.experiments import get as get_experiment
from metarl_neuro.run import RUN_FILES, SUMMARY_FILE, Run, atomic_write, read_seed_summary

__all__ = ["main", "parse_overrides", "plan", "ray_session", "reproduce", "run_seed",
           "simulate_logged"]


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None):
    """Ray for ``reproduce`` and ``sweep``, as a context manager.

    Joins the cluster at ``address`` on purpose, or else starts a private local one of ``num_cpus`` CPUs
    (``address="local"``, so a Ray cluster already running on the machine is neither joined nor disturbed) and
    shuts it down on leaving; an already started Ray in this process is used as it is.

    Parameters
    ----------
    address : str, optional
        A running cluster's address (e.g. ``"auto"``); None starts a private local cluster.
    num_cpus : int, optional
        CPUs of the local cluster (default: the machine's).

    Yields
    ------
    module
        The ``ray`` module, initialised.
    """
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        # without --address: a private local cluster of this process, even where another Ray cluster runs on the
        # machine (address="local"; Ray would otherwise join that one and refuse num_cpus)
        kw = {"address": address} if address else {"address": "local", "num_cpus": num_cpus or os.cpu_count()}
        ray.init(**kw, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        with sigterm_interrupts():  # after ray.init, which installs a SIGTERM handler of its own that exits
            yield ray
    finally:
        if started_here:
            ray.shutdown()


def simulate_logged(experiment: str, config, folder: str | Path, log: str | Path, header: str) -> bool:
    """Train and test ``config`` into the run folder ``folder``, its printed report appended to the file ``log``
    (after the line ``header``); a run there is resumed, and a complete one left as it is. Returns whether a run
    was there (the task of :func:`run_seed` and of ``sweep``'s trials).

    Parameters
    ----------
    experiment : str
        A registered experiment.
    config : TrainingConfig
        Its config.
    folder : str or pathlib.Path
        The run folder.
    log : str or pathlib.Path
        The file the printed report is appended to.
    header : str
        The line written before it.

    Returns
    -------
    bool
        Whether a run was already in ``folder``.
    """
    path, log = Path(folder), Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    resumed = (path / "config.json").exists()
    with open(log, "a") as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
        print(f"{header} {'resumed' if resumed else 'started'} {time.ctime()}", flush=True)
        if not (resumed and all((path / f).exists() for f in RUN_FILES)):
            get_experiment(experiment).simulate(config, path, resume=resumed, progress=False)
        else:
            print("run folder complete: not run again", flush=True)
    return resumed


def parse_overrides(items: list[str], experiments: list[str]) -> dict[str, dict]:
    """``["two-step.episodes=5000", "lr=1e-3"]`` -> ``{"two-step": {"episodes": 5000}, <each>: {"lr": 0.001}}``.

    A field without an experiment prefix applies to every experiment whose config has it. Values are parsed by
    the field's one parser (:func:`~metarl_neuro.experiments.parse_field`: its type, domain and choices; a bool
    is ``true / false``, ``1 / 0``, ``yes / no`` or ``on / off``).

    Parameters
    ----------
    items : list of str
        ``--set`` values, ``[EXPERIMENT.]FIELD=VALUE``.
    experiments : list of str
        The experiments of the sweep.

    Returns
    -------
    dict of str to dict
        Experiment -> field -> parsed value.

    Raises
    ------
    ValueError
        For an item without ``=``, an unknown experiment, a field that no named config has, ``seed`` (set by
        ``--seeds``), or a value not of the field's type or outside its domain or choices.
    """
    out: dict[str, dict] = {e: {} for e in experiments}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item!r}: expected FIELD=VALUE or EXPERIMENT.FIELD=VALUE")
        exp_name, dot, field = key.rpartition(".")
        targets = [get_experiment(exp_name).name] if dot else experiments
        hit = False
        name = field.replace("-", "_")
        if name == "seed":
            raise ValueError(f"--set {item!r}: the seeds are set by --seeds / --first-seed, not --set")
        for e in targets:
            fields = {f.name for f in dataclasses.fields(EXPERIMENTS[e].config)}
            if name in fields:  # the field's one parser: its type, domain and choices
                out.setdefault(e, {})[name] = parse_field(EXPERIMENTS[e].config, name, value, where=f"--set {item!r}")
                hit = True
        if not hit:
            raise ValueError(f"--set {item!r}: no config of {targets} has a field {field!r}")
    return out


def plan(experiments: list[str], seeds: list[int], budget: str, overrides: dict[str, dict], out: Path) -> list[dict]:
    """The (experiment, seed) tasks of a sweep: each one's config values, run folder and state on disk.

    ``budget="reduced"`` applies each experiment's :attr:`~metarl_neuro.experiments.Experiment.reduced`
    overrides (the pixel and PsychLab Harlow forms), and ``overrides`` (``--set``) come last. Every config is
    built here, so a bad value fails before any task starts (``ValueError`` naming the field).

    Parameters
    ----------
    experiments : list of str
        Registered names.
    seeds : list of int
        Seeds of each experiment.
    budget : {"full", "reduced"}
        The experiments' budget.
    overrides : dict of str to dict
        :func:`parse_overrides` output.
    out : pathlib.Path
        The reproduce root.

    Returns
    -------
    list of dict
        ``experiment``, ``seed``, ``values`` (the config fields set: budget and overrides), ``folder``,
        ``config_hash``, ``state``, ``summary`` (the finished seed's :func:`read_seed_summary`, else None),
        ``after`` (the experiment whose seed this one tests frozen, or ``""``) and ``episodes`` (the config's
        training length, set or default). ``state`` is one of

        - ``"finished"``: its ``seed_summary.json`` is there, with the same config hash;
        - ``"resume"``: a run folder of this config without it (a killed seed);
        - ``"extend"``: a run folder whose config differs only in fewer ``episodes`` (it trains on to
          ``episodes``, :func:`~metarl_neuro.experiments.extend_run`), whether the longer length was set or is a
          default that grew;
        - ``"retest"``: a frozen test of a network that has changed since, or will (its seed is not finished, or
          its checkpoint's SHA-256 is not the one the test recorded): the test is run again, the old one kept in
          ``OUT/<experiment>/superseded/``;
        - ``"new"``.

    Raises
    ------
    ValueError
        For a bad config value, a run folder that holds a run of another config (choose another ``--out``; a
        longer training is the one change allowed), or a corrupt ``config.json`` or ``seed_summary.json``
        (naming the file).
    """
    tasks = []
    for name in experiments:
        exp = get_experiment(name)
        values = {**exp.reproduce_defaults}
        if budget == "reduced":
            values.update({k: v for k, v in exp.reduced.items() if k != "why"})
        source = exp.frozen_test_of if exp.frozen_test_of in experiments else ""
        for seed in seeds:
            if source:  # the frozen test of that experiment's seed: its network, not trained here, with the view,
                # action set and network form it was trained with (--set for this experiment still wins)
                carried = {k: v for k, v in overrides.get(source, {}).items() if k in NETWORK_FIELDS}
                values = {**values, **carried, "episodes": 0, "init_from": str(out / source / f"seed{seed}"),
                          **overrides.get(name, {})}
            else:
                values.update(overrides.get(name, {}))
            config = exp.config(**{**values, "seed": seed})
            folder = out / name / f"seed{seed}"
            state, chash = "new", config_hash(config)
            summary = None
            if (folder / "config.json").exists():
                run = Run(folder)
                saved = run.meta.get("config_hash")
                if saved == chash:
                    summary = read_seed_summary(folder)
                    state = "finished" if summary is not None and summary.get("config_hash") == chash else "resume"
                elif _trains_longer(run.config, config):
                    state = "extend"
                else:
                    raise ValueError(f"{folder} holds a run of another config (hash {saved}, asked {chash}): the same "
                                     "command with the same options resumes it, and a larger episodes extends it; "
                                     "choose another --out for other settings")
            tasks.append({"experiment": name, "seed": seed, "values": {**values, "seed": seed}, "folder": str(folder),
                          "config_hash": chash, "state": state, "summary": summary if state == "finished" else None,
                          "after": source, "episodes": config.episodes})
    by_seed = {(t["experiment"], t["seed"]): t for t in tasks}
    for t in tasks:  # a frozen test of a network that changed (or will) is run again
        tested = by_seed.get((t["after"], t["seed"]))
        if tested is not None and t["state"] in ("finished", "resume") and _stale_test(t, tested):
            t["state"], t["summary"] = "retest", None
    return tasks


def _trains_longer(saved, asked) -> bool:
    """Whether config ``asked`` is config ``saved`` with more training episodes (``reproduce`` extends the run)."""
    return type(saved) is type(asked) and asked.episodes > saved.episodes and \
        dataclasses.replace(asked, episodes=saved.episodes) == saved


def _stale_test(test: dict, tested: dict) -> bool:
    """Whether the frozen test ``test`` (a :func:`plan` task) tested another network than the one its seed
    ``tested`` ends with: that seed is not finished, or its checkpoint is not the one the test recorded."""
    if tested["state"] != "finished":
        return True
    return Run(test["folder"]).meta.get("init_from_sha256") != Run(tested["folder"]).checkpoint_sha256()


def _supersede(folder: Path) -> Path:
    """Move the run folder ``folder`` to ``<its parent>/superseded/<name>-<UTC time>``, once no process writes it
    (:class:`~metarl_neuro.run.RunFolderLocked` otherwise); returns where it went."""
    with Run(folder).writer():
        pass
    dest = folder.parent / "superseded" / f"{folder.name}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    folder.rename(dest)
    return dest


def run_seed(experiment: str, values: dict, folder: str, log: str, after=None) -> dict:
    """One (experiment, seed): train and test it into ``folder`` (resumed if a run is there), summarise it.

    The body of every Ray task of :func:`reproduce`; it takes and returns only plain values. The simulation's
    printed report goes to the file ``log``. A run folder that is complete but has no summary (killed while
    summarising) is only summarised. ``after`` is the result of the task this one waited for (the seed a frozen
    test tests: :attr:`~metarl_neuro.experiments.Experiment.frozen_test_of`); it is not used.

    Parameters
    ----------
    experiment : str
        A registered experiment.
    values : dict
        Its config values (plain types).
    folder : str
        The run folder.
    log : str
        The file the printed report goes to.
    after : dict, optional
        The result of the task this one waits for (a frozen test waits for the seed it tests).

    Returns
    -------
    dict
        ``experiment``, ``seed``, ``wall_s`` (this call's seconds), ``cpu_s`` (the CPU seconds of this process in
        this call, every thread of it: on a shared machine the cost, where the wall time is inflated), ``resumed``
        and ``summary`` (the experiment's per-seed numbers); also written to ``folder/seed_summary.json``.
    """
    exp = get_experiment(experiment)
    config = exp.config(**values)
    path = Path(folder)
    t0, c0 = time.perf_counter(), time.process_time()
    resumed = simulate_logged(experiment, config, path, log, f"== {experiment} seed {config.seed}:")
    with open(log, "a") as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
        summary = {k: float(v) for k, v in exp.summarize(Run.load(path)).items()}
    result = {"experiment": experiment, "seed": config.seed, "wall_s": time.perf_counter() - t0,
              "cpu_s": time.process_time() - c0, "resumed": resumed, "config_hash": config_hash(config),
              "summary": summary}
    atomic_write(path / SUMMARY_FILE, lambda p: Path(p).write_text(json.dumps(result, indent=2)))
    return result


def _resources(exp, cpus: float | None, gpus: float | None, cluster: dict) -> dict:
    """A task's Ray resources: the experiment's (or ``--cpus-per-task`` / ``--gpus-per-task``), without GPUs on
    a cluster that has none (the task then runs on CPU)."""
    res = dict(exp.resources)
    if cpus is not None:
        res["num_cpus"] = cpus
    if gpus is not None:
        res["num_gpus"] = gpus
    res["num_cpus"] = min(res.get("num_cpus", 1), cluster.get("CPU", 1))
    if not cluster.get("GPU"):
        res.pop("num_gpus", None)
    return res


def reproduce(experiments: list[str], seeds: list[int], out: Path, budget: str = "full",
              overrides: dict[str, dict] | None = None, address: str | None = None, num_cpus: int | None = None,
              cpus_per_task: float | None = None, gpus_per_task: float | None = None, progress: bool = True) -> list[dict]:
    """Run every (experiment, seed) as a Ray task, skipping finished seeds; return the seeds' results.

    Parameters
    ----------
    experiments : list of str
        Registered names (:data:`~metarl_neuro.experiments.EXPERIMENTS`).
    seeds : list of int
        Seeds of each experiment.
    out : pathlib.Path
        Root of the run folders ``out/<experiment>/seed<k>`` and the logs ``out/logs``.
    budget : {"full", "reduced"}
        ``reduced`` applies each experiment's ``reduced`` overrides (stated in the report).
    overrides : dict, optional
        Config values per experiment (:func:`parse_overrides`).
    address : str, optional
        A running Ray cluster to join (``"auto"``, ``"ray://host:10001"``); default: a local cluster of
        ``num_cpus`` CPUs (default: the machine's), shut down at the end.
    num_cpus : int, optional
        CPUs of the local cluster (default: the machine's).
    cpus_per_task, gpus_per_task : float, optional
        Resources of every task instead of the experiments' own (GPUs are asked for only where the cluster has
        them).
    progress : bool
        Show tasks done / running / left with the ETA in the terminal (tqdm).

    Returns
    -------
    list of dict
        One per seed, :func:`run_seed`'s result (``status`` ``"skipped"`` for a seed finished before, with its
        saved result; ``"failed"`` with ``error`` for a task that raised).

    Raises
    ------
    ValueError
        As :func:`plan`, before any task starts.
    """
    import ray
    from tqdm import tqdm

    out = Path(out)
    tasks = plan(experiments, seeds, budget, overrides or {}, out)
    results = []
    for t in tasks:
        if t["state"] == "finished":
            results.append({**t["summary"], "status": "skipped"})
            print(f"{t['experiment']} seed {t['seed']}: finished earlier, skipped ({t['folder']})", file=sys.stderr)
    todo = [t for t in tasks if t["state"] != "finished"]
    for t in todo:
        if t["state"] == "extend":
            before = Run(t["folder"]).config.episodes
            extend_run(Path(t["folder"]), t["episodes"])  # from --set, or from a default that grew
            kept = Path(t["folder"]) / f"extended_from_{before}"  # only where that end had been tested
            print(f"{t['experiment']} seed {t['seed']}: training on from {before} to {t['episodes']} episodes "
                  f"({t['folder']}" + (f"; its earlier end kept in {kept.name}/)" if kept.exists() else ")"),
                  file=sys.stderr)
        elif t["state"] == "retest":
            old = _supersede(Path(t["folder"]))
            print(f"{t['experiment']} seed {t['seed']}: testing again, its network changed (the earlier test moved to "
                  f"{old})", file=sys.stderr)
        elif t["state"] == "resume":
            has = (Path(t["folder"]) / "checkpoint.pt").exists()
            print(f"{t['experiment']} seed {t['seed']}: " + ("resuming from its checkpoint" if has else
                  "restarting (stopped before its first checkpoint)") + f" ({t['folder']})", file=sys.stderr)
    if not todo:
        return results
    with ray_session(address, num_cpus):
        cluster = ray.cluster_resources()
        remote = ray.remote(run_seed)
        refs, logs, t_start = {}, {}, time.time()
        submitted = {}
        # the tasks that need more CPUs first: queued behind one-CPU tasks they wait for two free CPUs at once; a
        # frozen test after the seed it tests, whose task it waits for (Ray resolves that argument first)
        for t in sorted(todo, key=lambda t: (bool(t["after"]),
                                             -get_experiment(t["experiment"]).resources.get("num_cpus", 1))):
            exp = get_experiment(t["experiment"])
            log = str(out / "logs" / f"{t['experiment']}-seed{t['seed']}.log")
            after = submitted.get((t["after"], t["seed"]))
            ref = remote.options(**_resources(exp, cpus_per_task, gpus_per_task, cluster), max_retries=0).remote(
                t["experiment"], t["values"], t["folder"], log, after)
            refs[ref], logs[ref] = t, Path(log)
            submitted[(t["experiment"], t["seed"])] = ref

        def running(pending) -> int:  # a task writes its log's first line when it starts
            return sum(1 for r in pending if logs[r].exists() and logs[r].stat().st_mtime >= t_start)

        bar = tqdm(total=len(refs), desc="seeds", unit="task", disable=not progress, file=sys.stderr)
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1, timeout=5.0)
            for ref in done:
                t = refs[ref]
                try:
                    res = {**ray.get(ref), "status": "resumed" if t["state"] in ("resume", "extend") else "done"}
                    tqdm.write(f"{t['experiment']} seed {t['seed']}: {res['status']} in {res['wall_s']:.0f} s",
                               file=sys.stderr)
                except (ray.exceptions.RayError, OSError, ValueError) as err:  # a failed seed is reported; the others go on
                    res = {"experiment": t["experiment"], "seed": t["seed"], "status": "failed",
                           "error": f"{type(err).__name__}: {str(err).splitlines()[-1] if str(err) else ''}"}
                    tqdm.write(f"{t['experiment']} seed {t['seed']}: FAILED ({res['error']}); log in "
                               f"{out / 'logs'}", file=sys.stderr)
                results.append(res)
                bar.update(1)
            busy = running(pending)
            bar.set_postfix(running=busy, waiting=len(pending) - busy)
        bar.close()
    return results


#: the sweeps that made a reproduce root: one entry per invocation (``record_sweep``), read by the report
PROVENANCE_FILE = "reproduce.json"


def source_commit() -> str:
    """The git commit of the package's source tree (``"<sha>"``, ``"<sha> with uncommitted changes"``), or
    ``"unknown (not a git checkout)"`` for an installed package."""
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "-C", str(here), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return f"{sha} with uncommitted changes" if dirty else sha


def _alive(pid: int | None) -> bool:
    """Whether a process with this id runs on this host (None: unknown, taken as gone)."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def record_sweep(out: Path, command: str, wall_s: float | None, results: list[dict] | None,
                 index: int | None = None, status: str = "finished") -> dict:
    """Record an invocation in ``out/reproduce.json`` (command, commit, date, wall time, seeds run, skipped and
    failed, ``status``) and return the file's contents; a corrupt file is a ``ValueError`` naming it.

    ``index`` None appends an entry (``main`` appends one with ``status="running"`` before any task starts, so a
    sweep killed with its session still leaves its command and commit); an index updates that entry. A running
    entry records its host and process id; when an entry is appended, an earlier ``"running"`` entry of this host
    whose process is gone (killed without a chance to record, e.g. by ``SIGKILL``) becomes ``"killed"``.
    """
    path = Path(out) / PROVENANCE_FILE
    sweeps = []
    if path.exists():
        try:
            sweeps = json.loads(path.read_text())["sweeps"]
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path} is not a reproduce provenance file ({err}); move it away to start a new one") from err
    results = results or []
    entry = {"command": command, "commit": source_commit(), "date": time.strftime("%Y-%m-%d %H:%M"),
             "status": status, "wall_s": None if wall_s is None else round(wall_s, 1),
             "seeds_run": sum(r["status"] in ("done", "resumed") for r in results),
             "seeds_skipped": sum(r["status"] == "skipped" for r in results),
             "seeds_failed": sum(r["status"] == "failed" for r in results)}
    if status == "running":
        entry.update(host=socket.gethostname(), pid=os.getpid())
    if index is None:
        for old in sweeps:
            if old.get("status") == "running" and old.get("host") in (None, socket.gethostname()) \
                    and not _alive(old.get("pid")):
                old["status"] = "killed"
        sweeps.append(entry)
    else:
        # the date the invocation started and the code it ran (HEAD may have moved while it ran)
        sweeps[index] = {**entry, "date": sweeps[index]["date"], "commit": sweeps[index]["commit"]}
    content = {"sweeps": sweeps}
    atomic_write(path, lambda p: Path(p).write_text(json.dumps(content, indent=2)))
    return content


@contextlib.contextmanager
def sigterm_interrupts():
    """While in the block, SIGTERM stops the sweep as Ctrl-C does (``KeyboardInterrupt``): the sweep is recorded
    as interrupted and the local Ray cluster shut down, its workers with it.

    A run started in the background by a script (``nohup ... &``) ignores SIGINT from birth (POSIX: a shell without
    job control starts background jobs with SIGINT ignored), so ``kill -INT`` cannot stop it; ``kill`` (SIGTERM),
    a scheduler's cancel and a container's stop send SIGTERM. Outside the main thread it does nothing.
    """
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m metarl_neuro.reproduce``.

    Parameters
    ----------
    argv : list of str, optional
        The command-line arguments without the program's name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 every seed finished, 1 a seed failed (the others ran), 2 bad input, 130 interrupted (the same
        command continues the sweep).
    """
    command = "python -m metarl_neuro.reproduce " + shlex.join(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="python -m metarl_neuro.reproduce", description=__doc__.splitlines()[0])
    ap.add_argument("experiments", nargs="*", metavar="EXPERIMENT",
                    help=f"experiments to run (default: all): {', '.join(EXPERIMENTS)}")
    ap.add_argument("--seeds", type=int, default=2, help="seeds per experiment: 0 .. N-1 from --first-seed (default 2)")
    ap.add_argument("--first-seed", type=int, default=0, help="first seed (default 0)")
    ap.add_argument("--out", type=Path, default=Path("runs/reproduce"), help="root folder (default runs/reproduce)")
    ap.add_argument("--budget", choices=("full", "reduced"), default="full",
                    help="reduced: each experiment's stated reduced budget (the pixel and PsychLab Harlow forms)")
    ap.add_argument("--set", action="append", default=[], metavar="[EXPERIMENT.]FIELD=VALUE",
                    help="a config value, e.g. --set two-step.episodes=5000 or --set device=cpu (repeatable); into "
                         "an --out that holds finished seeds, a larger episodes trains them on (the earlier end kept "
                         "in each run folder) and tests their frozen tests again")
    ap.add_argument("--address", default=None,
                    help="join this Ray cluster (e.g. auto) instead of starting one; --out must then be a folder "
                         "every node sees (a shared filesystem)")
    ap.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray cluster (default: all)")
    ap.add_argument("--cpus-per-task", type=float, default=None, help="CPUs per seed (default: the experiment's)")
    ap.add_argument("--gpus-per-task", type=float, default=None,
                    help="GPU fraction per seed where the cluster has GPUs (default: the experiment's)")
    ap.add_argument("--no-report", action="store_true", help="run the seeds only")
    ap.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = ap.parse_args(argv)
    try:
        names = [get_experiment(e).name for e in args.experiments] or list(EXPERIMENTS)
        if args.seeds < 1 or args.first_seed < 0:
            raise ValueError(f"--seeds must be >= 1 and --first-seed >= 0, got {args.seeds}, {args.first_seed}")
        for name, value in (("--num-cpus", args.num_cpus), ("--cpus-per-task", args.cpus_per_task)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        if args.gpus_per_task is not None and args.gpus_per_task < 0:
            raise ValueError(f"--gpus-per-task must be >= 0, got {args.gpus_per_task}")
        seeds = list(range(args.first_seed, args.first_seed + args.seeds))
        overrides = parse_overrides(args.set, names)
        plan(names, seeds, args.budget, overrides, args.out)  # a bad value fails here, before anything is written
        entry = len(record_sweep(args.out, command, None, None, status="running")["sweeps"]) - 1
        t0 = time.perf_counter()
        try:
            with sigterm_interrupts():  # kill (SIGTERM) stops the sweep as Ctrl-C does
                results = reproduce(names, seeds, args.out, args.budget, overrides, args.address, args.num_cpus,
                                    args.cpus_per_task, args.gpus_per_task, not args.no_progress)
        except KeyboardInterrupt:
            record_sweep(args.out, command, time.perf_counter() - t0, None, index=entry, status="interrupted")
            raise
        wall = time.perf_counter() - t0
        record_sweep(args.out, command, wall, results, index=entry)
        failed = [r for r in results if r["status"] == "failed"]
        print(f"{len(results) - len(failed)} of {len(results)} seeds finished; this sweep {wall:.0f} s", file=sys.stderr)
        if not args.no_report:
            from metarl_neuro.report import write_report

            html, md = write_report(args.out, names, seeds, args.budget, sweep_wall_s=wall)
            print(f"report: {html} and {md}")
        return 1 if failed else 0
    except KeyboardInterrupt:
        print("\ninterrupted: the same command continues the sweep (finished seeds are kept, the others resume from "
              "their checkpoints)", file=sys.stderr)
        return 130
    except (ValueError, OSError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
