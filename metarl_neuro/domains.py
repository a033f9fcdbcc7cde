"""Declared domains of values, and the one typed parser and checker every entry point shares.

A value's domain is declared once, where the value is defined: a config field's in its
:func:`~metarl_neuro.experiments.option` (``domain=``), a model parameter's by its kind
(:data:`metarl_neuro.analysis.hybrid.PARAMETER_DOMAINS`). The domains are :class:`pandas.Interval` objects, so
membership is ``value in domain``. :func:`parse_value` (text from a command-line flag, ``reproduce --set``,
``sweep --param``) and :func:`check_value` (a value from ``config.json`` or a keyword argument) then refuse a
bad value the same way wherever it enters: a ``ValueError`` that names the field, its type and its domain.
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["AT_LEAST_ONE", "NON_NEGATIVE", "OR_DEPENDENT_DEFAULT", "POSITIVE", "REAL", "UNIT_INTERVAL", "check_value", "describe",
           "parse_value"]

#: [0, 1]: probabilities, rates, weights
UNIT_INTERVAL = pd.Interval(0.0, 1.0, closed="both")
#: [0, inf): inverse temperatures, loss weights, seconds
NON_NEGATIVE = pd.Interval(0.0, math.inf, closed="left")
#: (0, inf)
POSITIVE = pd.Interval(0.0, math.inf, closed="neither")
#: [1, inf): counts of at least one (batch, units, trials)
AT_LEAST_ONE = pd.Interval(1, math.inf, closed="left")
#: (-inf, inf): any finite real (stickiness)
REAL = pd.Interval(-math.inf, math.inf, closed="neither")
#: [-1, inf): a value whose -1 stands for a default that depends on another field (the config's ``__post_init__``
#: resolves it, so that ``config.json`` holds the value used)
OR_DEPENDENT_DEFAULT = pd.Interval(-1.0, math.inf, closed="left")

_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def describe(domain: pd.Interval) -> str:
    """A domain as text, e.g. ``[0, 1]`` or ``>= 1``.

    Parameters
    ----------
    domain : pandas.Interval
        A declared domain.

    Returns
    -------
    str
        The domain as text.
    """
    lo, hi = domain.left, domain.right
    if math.isinf(hi) and math.isinf(lo):
        return "finite"
    if math.isinf(hi):
        return f"{'>=' if domain.closed_left else '>'} {lo:g}"
    return f"{'[' if domain.closed_left else '('}{lo:g}, {hi:g}{']' if domain.closed_right else ')'}"


def check_value(name: str, value, kind: type, domain: pd.Interval | None = None, choices=None, where: str = ""):
    """Check one value against its field's type, domain and choices; return it (an int given for a float
    field comes back as a float).

    Parameters
    ----------
    name : str
        The field or parameter, named in the error.
    value : object
        The value (from ``config.json``, a keyword argument or :func:`parse_value`).
    kind : type
        ``bool``, ``int``, ``float`` or ``str``. A bool is not an int here, and an int field refuses ``2.5``.
    domain : pandas.Interval, optional
        The values allowed (bounds included as the interval is closed); NaN is never allowed.
    choices : sequence, optional
        The values allowed, for a text field.
    where : str
        Where the value came from (``"--set lr=..."``, ``"config.json"``), prefixed to the error.

    Returns
    -------
    object
        ``value``, as ``kind``.

    Raises
    ------
    ValueError
        If ``value`` is not of ``kind``, lies outside ``domain`` (NaN and infinities included, unless the domain
        reaches them), or is not one of ``choices``.

    Examples
    --------
    >>> check_value("gamma", 0.9, float, UNIT_INTERVAL)
    0.9
    >>> check_value("gamma", 1.5, float, UNIT_INTERVAL)
    Traceback (most recent call last):
    ...
    ValueError: gamma must be a number in [0, 1], got 1.5
    """
    prefix = f"{where}: " if where else ""
    ok_type = {bool: lambda v: isinstance(v, bool),
               int: lambda v: isinstance(v, int) and not isinstance(v, bool),
               float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
               str: lambda v: isinstance(v, str)}[kind]
    noun = {bool: "true or false", int: "an integer", float: "a number", str: "a text"}[kind]
    text = describe(domain) if domain is not None else ""
    if text == "finite":
        noun, in_domain = "a finite number", ""
    else:  # "[0, 1]" reads "in [0, 1]"; ">= 1" reads as it is
        in_domain = f" in {text}" if text.startswith(("[", "(")) else f" {text}" if text else ""
    if not ok_type(value):
        raise ValueError(f"{prefix}{name} must be {noun}{in_domain}, got {value!r} ({type(value).__name__})")
    if kind is float:
        value = float(value)
        if math.isnan(value):
            raise ValueError(f"{prefix}{name} must be a number{in_domain}, got nan")
    if domain is not None and value not in domain:
        raise ValueError(f"{prefix}{name} must be {noun}{in_domain}, got {value!r}")
    if choices and value not in choices:
        raise ValueError(f"{prefix}{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def parse_value(name: str, text: str, kind: type, domain: pd.Interval | None = None, choices=None, where: str = ""):
    """Parse the text of a command-line value as ``kind`` and check it (:func:`check_value`).

    ``bool``: ``true / false``, ``1 / 0``, ``yes / no``, ``on / off`` (any case), nothing else. ``int``: an
    integer written as such or as an integral number (``20000``, ``2e4``); ``2.5`` is refused. ``float``: any
    number Python reads, then the domain (``inf`` only where the domain reaches it).

    Parameters
    ----------
    name : str
        The value's name, for the message.
    text : str
        The value as written on the command line.
    kind : type
        ``bool``, ``int``, ``float`` or ``str``.
    domain : pandas.Interval, optional
        The values allowed (numbers).
    choices : sequence, optional
        The values allowed (any kind).
    where : str
        Where the value came from, for the message (e.g. ``"--set"``).

    Returns
    -------
    bool or int or float or str
        The value.

    Raises
    ------
    ValueError
        If the text is not of ``kind`` or the value is outside ``domain`` / ``choices``; the message names
        ``name``.

    Examples
    --------
    >>> parse_value("stacked", "False", bool)
    False
    >>> parse_value("episodes", "2e4", int)
    20000
    >>> parse_value("stacked", "maybe", bool)
    Traceback (most recent call last):
    ...
    ValueError: stacked must be true or false, got 'maybe'
    """
    prefix = f"{where}: " if where else ""
    raw = str(text).strip()
    if kind is bool:
        low = raw.lower()
        if low not in _TRUE + _FALSE:
            raise ValueError(f"{prefix}{name} must be true or false, got {text!r}")
        value: object = low in _TRUE
    elif kind is int:
        try:
            value = int(raw)
        except ValueError:
            try:
                f = float(raw)
            except ValueError:
                f = math.nan
            if not (math.isfinite(f) and f.is_integer()):
                raise ValueError(f"{prefix}{name} must be an integer, got {text!r}") from None
            value = int(f)
    elif kind is float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{prefix}{name} must be a number, got {text!r}") from None
    else:
        value = str(text)
    return check_value(name, value, kind, domain, choices, where)
