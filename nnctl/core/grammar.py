"""The ``--model`` grammar: one readable string for MLPs, CNNs and residual networks.

Examples::

    mlp:128,64                                   two hidden layers, output layer added from the data
    dense:256,bn,relu,dropout:0.5,dense:10       explicit layers
    conv:16x3,relu,maxpool:2,conv:32x3,relu,maxpool:2,flatten,dense:10
    res(dense:64,relu,dense:64)x4                four residual blocks y = x + F(x)

Rules: layers are separated by commas; ``name:value`` gives the layer's first parameter(s)
(``conv:16x3`` is 16 filters of 3×3, ``dropout:0.5`` the rate); a following item that is a bare
number continues the same layer's values (``mlp:128,64``) and an item ``key=value`` sets a named
parameter of the layer before it (``conv:16x3,stride=2``). ``res(...)xN`` repeats a residual block
N times. ``act`` stands for the ``--activation`` flag. Any activation name is a layer.

Defaults from flags reach the layers that do not name their own: ``--init`` for dense and conv
weights, ``--dropout`` for a bare ``dropout``; with the ``mlp`` shorthand also ``--activation``,
``--batch-norm`` and ``--dropout`` after every hidden layer. When the model's output does not already
have one unit per output, an output layer is appended. Dense layers flatten image inputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError, ShapeError, SpecError, UnknownComponentError, suggestion
from .layers import ACTIVATIONS, LAYERS, Layer
from .registry import parse_value

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIMS = re.compile(r"^[0-9]+(x[0-9]+)+$")
_DIGITS = re.compile(r"[0-9]+")
PSEUDO = ("mlp", "act", "res", "residual")
#: most layers a model string may expand to (``res(...)xN`` repeats its block N times).
MAX_LAYERS = 10_000
#: deepest nesting of residual blocks inside each other.
MAX_DEPTH = 16


@dataclass
class Node:
    """One parsed item: a layer with its values, or a residual block with children."""

    name: str
    pos: int
    positional: list[Any] = field(default_factory=list)
    keywords: dict[str, Any] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)
    repeat: int = 1


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.i = 0
        self.depth = 0

    def error(self, message: str, pos: int | None = None) -> SpecError:
        pos = self.i if pos is None else pos
        near = self.text[pos : pos + 12] or "end of string"
        return SpecError(f"model {self.text!r}: {message} at position {pos} (near {near!r})")

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def skip_ws(self) -> None:
        while self.peek().isspace():
            self.i += 1

    def parse(self) -> list[Node]:
        nodes = self.sequence(top=True)
        self.skip_ws()
        if self.i != len(self.text):
            raise self.error(f"unexpected {self.peek()!r}")
        if not nodes:
            raise self.error("empty model; expected layers such as 'mlp:128,64'", 0)
        return nodes

    def sequence(self, top: bool) -> list[Node]:
        nodes: list[Node] = []
        while True:
            self.skip_ws()
            start = self.i
            item = self.read_item()
            if item is None:
                raise self.error("expected a layer name", start)
            kind, value = item
            if kind == "node":
                nodes.append(value)
            elif not nodes or nodes[-1].children:
                raise self.error(f"{value[1]!r} does not follow a layer that takes values", start)
            elif kind == "value":
                if nodes[-1].keywords:
                    raise self.error("a plain value cannot follow key=value parameters", start)
                nodes[-1].positional.extend(value[0])
            else:  # keyword
                key, val = value[0]
                if key in nodes[-1].keywords:
                    raise self.error(f"parameter {key!r} given twice", start)
                nodes[-1].keywords[key] = val
            self.skip_ws()
            if self.peek() == ",":
                self.i += 1
                continue
            return nodes

    def read_atom(self) -> str:
        start = self.i
        while self.i < len(self.text) and self.text[self.i] not in ",()" and not self.text[self.i].isspace():
            self.i += 1
        return self.text[start : self.i]

    def read_item(self):
        start = self.i
        m = _NAME.match(self.text, self.i)
        if m and self.text[m.end() : m.end() + 1] == "(":
            name = m.group(0).lower()
            if name not in ("res", "residual"):
                raise self.error(f"only res(...) takes a block of layers, got {name!r}", start)
            if self.depth >= MAX_DEPTH:
                raise self.error(
                    f"residual blocks nested more than {MAX_DEPTH} deep; allowed: at most {MAX_DEPTH}", start
                )
            self.i = m.end() + 1
            self.depth += 1
            children = self.sequence(top=False)
            self.depth -= 1
            self.skip_ws()
            if self.peek() != ")":
                raise self.error("expected ')' to close the residual block")
            self.i += 1
            repeat = 1
            if self.peek() in ("x", "X", "*"):
                self.i += 1
                rm = _DIGITS.match(self.text, self.i)
                digits = rm.group(0).lstrip("0") if rm else ""
                if not digits:
                    raise self.error("expected a repeat count ≥ 1 after 'x'")
                if len(digits) > len(str(MAX_LAYERS)) or int(digits) > MAX_LAYERS:
                    raise self.error(f"repeat count {digits[:12]} is too large; allowed: 1 to {MAX_LAYERS}")
                repeat = int(digits)
                self.i = rm.end()
            return "node", Node(name="res", pos=start, children=children, repeat=repeat)
        atom = self.read_atom()
        if not atom:
            return None
        head, colon, rest = atom.partition(":")
        if not colon and "=" in atom:  # key=value continuing the previous layer
            key, val = atom.split("=", 1)
            if not _NAME.fullmatch(key) or not val:
                raise self.error(f"invalid parameter {atom!r}; expected key=value", start)
            return "keyword", ((key.lower(), parse_value(val)), atom)
        if _NAME.fullmatch(head):
            node = Node(name=head.lower(), pos=start)
            if colon and not rest:
                raise self.error(f"{head!r} has ':' but no value after it", start)
            if "=" in rest:
                key, val = rest.split("=", 1)
                if not _NAME.fullmatch(key) or not val:
                    raise self.error(f"invalid parameter {rest!r}; expected key=value", start)
                node.keywords[key.lower()] = parse_value(val)
            elif rest:
                node.positional.extend(_values(rest))
            return "node", node
        if not colon and re.fullmatch(r"[0-9.eE+\-x]+", atom):
            return "value", (_values(atom), atom)
        raise self.error(f"cannot read {atom!r}", start)


def _values(text: str) -> list[Any]:
    if _DIMS.match(text):
        return [parse_value(v) for v in text.split("x")]
    return [parse_value(text)]


def parse_model(text: str) -> list[Node]:
    """Parse a model string into nodes (no layers built yet); SpecError points at the position."""
    if not isinstance(text, str) or not text.strip():
        raise SpecError("empty model; expected layers such as 'mlp:128,64'")
    nodes = _Parser(text).parse()
    count = sum(_count(node) for node in nodes)
    if count > MAX_LAYERS:
        raise ConfigError(
            f"model {text!r} expands to {count} layers; allowed: at most {MAX_LAYERS} "
            "(res(...)xN repeats its block N times)"
        )
    return nodes


def _count(node: Node) -> int:
    """How many layers a node becomes (an upper bound for ``mlp``: dense, norm, activation, dropout)."""
    if node.children:
        return node.repeat * (1 + sum(_count(child) for child in node.children))
    if node.name == "mlp":
        return 4 * len(node.positional)
    return 1


# --- building layers from nodes -------------------------------------------------------------------

DEFAULT_INIT_BY_ACTIVATION = {
    "relu": "he_normal",
    "leaky_relu": "he_normal",
    "prelu": "he_normal",
    "rrelu": "he_normal",
    "elu": "he_normal",
    "swish": "he_normal",
    "silu": "he_normal",
    "gelu": "he_normal",
    "softplus": "he_normal",
    "selu": "lecun_normal",
}


def default_init(activation: str) -> str:
    """He for the ReLU family (Var 2/fan_in), LeCun for SELU, Glorot for sigmoid/tanh/linear."""
    name = activation.split(":", 1)[0].strip().lower()
    return DEFAULT_INIT_BY_ACTIVATION.get(name, "glorot_uniform")


def _activation(spec: str) -> Layer:
    return ACTIVATIONS.get(spec)  # type: ignore[return-value]


def build_layers(
    text: str,
    *,
    n_outputs: int,
    activation: str = "relu",
    init: str | None = None,
    bias_init: str = "zeros",
    dropout: float = 0.0,
    input_dropout: float = 0.0,
    batch_norm: bool = False,
) -> list[Layer]:
    """Turn a model string and the flag defaults into a list of layer objects.

    The output layer (``dense`` with ``n_outputs`` units, zero biases) is appended when the model
    does not end in one; it has no activation (losses take logits). ``init`` applies to every weight
    layer that does not name its own, the added output layer included: the lecture's claims about
    initialization ("if all the weights are initialized with 0 ...") are about all weights.
    ``None`` or ``"auto"`` picks per layer what the activation that follows calls for: He for the
    ReLU family, LeCun for SELU, Glorot otherwise — and Glorot for the output layer, which no
    activation follows.
    """
    explicit = init not in (None, "auto")
    head_init = init if explicit else "glorot_uniform"
    init = init if explicit else default_init(activation)
    defaults = dict(activation=activation, init=init, bias_init=bias_init, dropout=dropout, batch_norm=batch_norm)
    layers: list[Layer] = []
    if input_dropout > 0:
        layers.append(LAYERS.get(f"dropout:rate={input_dropout!r}"))  # type: ignore[arg-type]
    for node in parse_model(text):
        layers += _build_node(node, text, defaults)
    if not layers or _needs_head(layers, n_outputs):
        layers.append(LAYERS.lookup("dense")(units=n_outputs, init=head_init, bias_init="zeros"))  # type: ignore[call-arg]
    return layers


def _needs_head(layers: list[Layer], n_outputs: int) -> bool:
    """True unless the model already ends in dense(n_outputs), possibly followed by activations.

    ``dense:1,sigmoid`` is a complete model (the notes' single sigmoid neuron); a final dense layer
    whose width differs from the data's outputs is an error rather than a silent extra layer.
    """
    last = layers[-1]
    if last.name == "dense":
        if last.units != n_outputs:  # type: ignore[attr-defined]
            raise ShapeError(
                f"the last layer {last.label()} has {last.units} units but the data has "  # type: ignore[attr-defined]
                f"{n_outputs} output(s); end the model with dense:{n_outputs} or leave the output layer out"
            )
        return False
    for layer in reversed(layers):
        if layer.name in ACTIVATIONS and layer.name != "maxout":
            continue
        return not (layer.name == "dense" and layer.units == n_outputs)  # type: ignore[attr-defined]
    return True


def _build_node(node: Node, text: str, defaults: dict[str, Any]) -> list[Layer]:
    if node.name in ("res", "residual"):
        blocks = []
        for _ in range(node.repeat):
            inner: list[Layer] = []
            for child in node.children:
                inner += _build_node(child, text, defaults)
            blocks.append(LAYERS.lookup("residual")(layers=inner))  # type: ignore[call-arg]
        return blocks
    if node.name == "mlp":
        return _mlp(node, text, defaults)
    if node.name == "act":
        if node.positional or node.keywords:
            raise SpecError(f"model {text!r}: 'act' takes no values (position {node.pos})")
        return [_activation(defaults["activation"])]
    if node.name not in LAYERS:
        names = sorted(set(LAYERS.names() + ["mlp", "act", "res"]))
        raise UnknownComponentError(
            f"model {text!r}: unknown layer '{node.name}' at position {node.pos}; valid: {', '.join(names)}"
            + suggestion(node.name, names + LAYERS.names(True))
        )
    try:
        cls, kwargs = LAYERS.from_parts(node.name, list(node.positional), dict(node.keywords))
    except SpecError as exc:
        raise SpecError(f"model {text!r}: at position {node.pos}: {exc}") from None
    params = cls.hyperparameters()
    if "init" in params and "init" not in kwargs:
        kwargs["init"] = defaults["init"]
    if "bias_init" in params and "bias_init" not in kwargs:
        kwargs["bias_init"] = defaults["bias_init"]
    if cls.name == "dropout" and "rate" not in kwargs:
        kwargs["rate"] = defaults["dropout"] or 0.5
    return [cls(**kwargs)]


def _mlp(node: Node, text: str, defaults: dict[str, Any]) -> list[Layer]:
    if node.keywords:
        raise SpecError(f"model {text!r}: 'mlp' takes hidden widths only, e.g. mlp:128,64")
    widths = node.positional
    for w in widths:
        if not isinstance(w, int) or isinstance(w, bool) or w < 1:
            raise SpecError(f"model {text!r}: mlp widths must be positive integers, got {w!r}")
    dense = LAYERS.lookup("dense")
    layers: list[Layer] = []  # dense layers flatten image inputs themselves
    for w in widths:
        layers.append(dense(units=w, init=defaults["init"], bias_init=defaults["bias_init"]))  # type: ignore[call-arg]
        if defaults["batch_norm"]:
            layers.append(LAYERS.get("batch_norm"))  # type: ignore[arg-type]
        layers.append(_activation(defaults["activation"]))
        if defaults["dropout"] > 0:
            layers.append(LAYERS.lookup("dropout")(rate=defaults["dropout"]))  # type: ignore[call-arg]
    return layers
