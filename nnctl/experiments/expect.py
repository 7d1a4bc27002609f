"""Machine-checkable expectations over a sweep's results, parsed without ``eval``.

An expectation is a comparison of arithmetic over *selectors*::

    test_acc[init=he_normal] > test_acc[init=zeros] + 0.3
    train_loss@5[activation=relu] < train_loss@5[activation=sigmoid]
    (eval_train_acc[l2=0.0] - val_acc[l2=0.0]) > (eval_train_acc[l2=0.001] - val_acc[l2=0.001])
    best_val_acc.max[sweep=random] >= best_val_acc.max[sweep=grid] and distinct(lr)[sweep=random] > 3

A selector ``metric[key=value,...]`` takes the rows (trials) whose options match every filter and
aggregates the metric over them: the mean by default (over seeds), or ``.max``, ``.min``,
``.median``, ``.std``; ``metric@E`` reads the metric from epoch E of each trial's curve;
``distinct(option)`` counts the different values an option took. Comparisons may be joined with
``and`` / ``or``. Values in filters are compared as numbers when both sides are numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.errors import ConfigError

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|(?P<op>>=|<=|==|!=|[<>()+\-*/\[\],=@.])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_:]*))"
)
AGGREGATES: dict[str, Callable[[np.ndarray], float]] = {
    "mean": lambda v: float(np.mean(v)),
    "max": lambda v: float(np.max(v)),
    "min": lambda v: float(np.min(v)),
    "median": lambda v: float(np.median(v)),
    "std": lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
}
#: deepest nesting of parentheses and unary minus signs in an expectation.
MAX_DEPTH = 50
#: most operators (arithmetic, comparisons, and/or) in one expectation; evaluation recurses over them.
MAX_OPERATORS = 200
COMPARISONS = {
    ">": np.greater,
    "<": np.less,
    ">=": np.greater_equal,
    "<=": np.less_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


@dataclass
class Selector:
    """One ``metric[filters]`` term of an expectation."""

    metric: str
    filters: dict[str, str] = field(default_factory=dict)
    epoch: int | None = None
    aggregate: str = "mean"
    distinct: bool = False

    def text(self) -> str:
        name = f"distinct({self.metric})" if self.distinct else self.metric
        if self.epoch is not None:
            name += f"@{self.epoch}"
        if self.aggregate != "mean":
            name += f".{self.aggregate}"
        if self.filters:
            name += "[" + ",".join(f"{k}={v}" for k, v in self.filters.items()) + "]"
        return name


@dataclass
class Term:
    """Evaluated selector: the aggregate and the values behind it."""

    selector: Selector
    value: float
    values: list[float]


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ConfigError(f"expectation {text!r}: cannot read {text[pos : pos + 10]!r} at position {pos}")
        kind = m.lastgroup
        out.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return out


class Expectation:
    """A parsed expectation; :meth:`evaluate` takes a lookup for selectors and returns the verdict."""

    def __init__(self, text: str):
        if not isinstance(text, str) or not text.strip():
            raise ConfigError("an expectation must be a non-empty string such as 'test_acc[init=he_normal] > 0.9'")
        self.text = text.strip()
        self.toks = _tokens(self.text)
        self.i = 0
        self.depth = 0
        self.operators = 0
        self.selectors: list[Selector] = []
        self.tree = self._or()
        if self.i != len(self.toks):
            self._fail("unexpected text")

    # --- parsing (recursive descent; produces nested tuples) -------------------------------------
    def _peek(self, offset: int = 0) -> tuple[str, str, int] | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def _fail(self, what: str):
        tok = self._peek()
        where = f"at position {tok[2]}" if tok else "at the end"
        raise ConfigError(f"expectation {self.text!r}: {what} {where}")

    def _operator(self) -> None:
        """Count one more operator; refuse expectations with more than MAX_OPERATORS."""
        self.operators += 1
        if self.operators > MAX_OPERATORS:
            self._fail(f"more than {MAX_OPERATORS} operators; allowed: at most {MAX_OPERATORS}")

    def _take(self, value: str) -> None:
        tok = self._peek()
        if tok is None or tok[1] != value:
            self._fail(f"expected {value!r}")
        self.i += 1

    def _or(self):
        node = self._and()
        while (tok := self._peek()) and tok[0] == "name" and tok[1] == "or":
            self.i += 1
            self._operator()
            node = ("or", node, self._and())
        return node

    def _and(self):
        node = self._comparison()
        while (tok := self._peek()) and tok[0] == "name" and tok[1] == "and":
            self.i += 1
            self._operator()
            node = ("and", node, self._comparison())
        return node

    def _comparison(self):
        left = self._sum()
        tok = self._peek()
        if tok is None or tok[1] not in COMPARISONS:
            self._fail("expected a comparison (>, <, >=, <=, ==, !=)")
        self.i += 1
        return ("cmp", tok[1], left, self._sum())

    def _sum(self):
        node = self._product()
        while (tok := self._peek()) and tok[1] in "+-" and tok[0] == "op":
            self.i += 1
            self._operator()
            node = (tok[1], node, self._product())
        return node

    def _product(self):
        node = self._atom()
        while (tok := self._peek()) and tok[1] in "*/" and tok[0] == "op":
            self.i += 1
            self._operator()
            node = (tok[1], node, self._atom())
        return node

    def _atom(self):
        tok = self._peek()
        if tok is None:
            self._fail("expected a number or a metric")
        kind, value, _ = tok
        if kind == "num":
            self.i += 1
            return ("num", float(value))
        if value in ("(", "-") and kind == "op":
            if self.depth >= MAX_DEPTH:
                self._fail(f"parentheses or minus signs nested more than {MAX_DEPTH} deep")
            self.i += 1
            self.depth += 1
            if value == "(":
                node = self._sum()
                self._take(")")
            else:
                self._operator()
                node = ("-", ("num", 0.0), self._atom())
            self.depth -= 1
            return node
        if kind == "name":
            return ("sel", self._selector())
        self._fail("expected a number or a metric")

    def _selector(self) -> int:
        _, name, _ = self._peek()
        self.i += 1
        sel = Selector(metric=name)
        if name == "distinct":
            self._take("(")
            tok = self._peek()
            if tok is None or tok[0] != "name":
                self._fail("expected an option name")
            sel.metric, sel.distinct = tok[1], True
            self.i += 1
            self._take(")")
        if (tok := self._peek()) and tok[1] == "@":
            self.i += 1
            tok = self._peek()
            if tok is None or tok[0] != "num" or not tok[1].isdigit() or len(tok[1]) > 9:
                self._fail("expected an epoch number (at most 9 digits) after '@'")
            sel.epoch = int(tok[1])
            self.i += 1
        if (tok := self._peek()) and tok[1] == ".":
            self.i += 1
            tok = self._peek()
            if tok is None or tok[1] not in AGGREGATES:
                self._fail(f"expected an aggregate ({', '.join(AGGREGATES)})")
            sel.aggregate = tok[1]
            self.i += 1
        if (tok := self._peek()) and tok[1] == "[":
            self.i += 1
            while True:
                key = self._peek()
                if key is None or key[0] != "name":
                    self._fail("expected key=value")
                self.i += 1
                self._take("=")
                parts = []
                while (tok := self._peek()) and tok[1] not in (",", "]"):
                    parts.append(tok[1])
                    self.i += 1
                if not parts:
                    self._fail(f"expected a value for {key[1]!r}")
                sel.filters[key[1]] = "".join(parts)
                if (tok := self._peek()) and tok[1] == ",":
                    self.i += 1
                    continue
                self._take("]")
                break
        for i, seen in enumerate(self.selectors):  # a selector written twice is one term
            if seen == sel:
                return i
        self.selectors.append(sel)
        return len(self.selectors) - 1

    # --- evaluating --------------------------------------------------------------------------------
    def evaluate(self, lookup: Callable[[Selector], list[float]]) -> tuple[bool, list[Term]]:
        """Evaluate with ``lookup(selector) -> values``; returns (verdict, evaluated terms)."""
        terms: list[Term] = []
        for sel in self.selectors:
            raw = list(lookup(sel))
            if not raw:
                raise ConfigError(f"expectation {self.text!r}: no trial matches {sel.text()}")
            if sel.distinct:
                values = []
                value = float(len({str(v) for v in raw}))
            else:
                values = [float(v) if v is not None else math.nan for v in raw]
                value = AGGREGATES[sel.aggregate](np.asarray(values, dtype=float))
            terms.append(Term(sel, value, values))
        return bool(self._eval(self.tree, terms)), terms

    def _eval(self, node, terms: list[Term]) -> Any:
        return self.evaluate_node(node, {i: t.value for i, t in enumerate(terms)})

    def evaluate_node(self, node, values: dict[int, float]) -> Any:
        """The value of a parsed (sub)expression with ``values[i]`` standing for selector i."""
        op = node[0]
        if op == "num":
            return node[1]
        if op == "sel":
            return values[node[1]]
        if op == "cmp":
            left, right = self.evaluate_node(node[2], values), self.evaluate_node(node[3], values)
            return bool(COMPARISONS[node[1]](left, right)) and not (math.isnan(left) or math.isnan(right))
        if op == "and":
            return self.evaluate_node(node[1], values) and self.evaluate_node(node[2], values)
        if op == "or":
            return self.evaluate_node(node[1], values) or self.evaluate_node(node[2], values)
        a, b = self.evaluate_node(node[1], values), self.evaluate_node(node[2], values)
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        return a / b if b != 0 else math.nan

    def node_text(self, node) -> str:
        """A (sub)expression written back as text."""
        op = node[0]
        if op == "num":
            return f"{node[1]:g}"
        if op == "sel":
            return self.selectors[node[1]].text()
        if op == "cmp":
            return f"{self.node_text(node[2])} {node[1]} {self.node_text(node[3])}"
        if op in ("and", "or"):
            return f"{self.node_text(node[1])} {op} {self.node_text(node[2])}"
        left, right = self.node_text(node[1]), self.node_text(node[2])
        if op in "*/":
            left = f"({left})" if node[1][0] in ("+", "-") else left
            right = f"({right})" if node[2][0] in ("+", "-", "*", "/") else right
        elif op == "-" and node[2][0] in ("+", "-"):
            right = f"({right})"
        if op == "-" and node[1] == ("num", 0.0):
            return f"-{right}"
        return f"{left} {op} {right}"

    def effect(self, terms: list[Term]) -> float | None:
        """Left minus right side of the first comparison: the effect size reported with the verdict."""
        node = self.tree
        while node[0] in ("and", "or"):
            node = node[1]
        if node[0] != "cmp":
            return None
        return float(self._eval(node[2], terms) - self._eval(node[3], terms))


def matches(options: dict[str, Any], filters: dict[str, str]) -> bool:
    """True when every filter equals the option's value (numerically when both are numbers)."""
    for key, wanted in filters.items():
        if key not in options:
            return False
        have = options[key]
        try:
            if not math.isclose(float(have), float(wanted), rel_tol=1e-9, abs_tol=1e-15):
                return False
            continue
        except (TypeError, ValueError):
            pass
        if str(have).lower() != wanted.lower() and str(have).split(":")[0].lower() != wanted.lower():
            return False
    return True
