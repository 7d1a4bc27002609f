"""The peers nnctl is measured against: PyTorch (CPU, eager) and scikit-learn's MLPClassifier.

Each ``*_runner`` builds a model and returns ``run(k)``, which trains ``k`` minibatch steps on
consecutive slices of one fixed permutation of the data: gather, forward, loss, backward, update,
and read back the loss and the number of correct predictions (what nnctl's fit loop does each
step, and what a user's PyTorch loop does to report progress). PyTorch is optional: when it is not
installed, :func:`torch_available` says so and the benchmark leaves its columns empty.
"""

from __future__ import annotations

import numpy as np


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def torch_mlp(widths: tuple[int, ...], n_in: int, n_out: int):
    import torch

    layers, fan_in = [], n_in
    for w in widths:
        layers += [torch.nn.Linear(fan_in, w), torch.nn.ReLU()]
        fan_in = w
    layers.append(torch.nn.Linear(fan_in, n_out))
    return torch.nn.Sequential(*layers)


def torch_cnn(channels: tuple[int, ...], image: tuple[int, int, int], n_out: int):
    """conv 3×3 'same' → relu → maxpool 2 for each entry of ``channels``, then flatten → dense."""
    import torch

    c, h, w = image
    layers = []
    for f in channels:
        layers += [torch.nn.Conv2d(c, f, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
        c, h, w = f, h // 2, w // 2
    layers += [torch.nn.Flatten(), torch.nn.Linear(c * h * w, n_out)]
    return torch.nn.Sequential(*layers)


def torch_runner(net, optimizer: str, X: np.ndarray, y: np.ndarray, batch: int, variant: str, seed: int = 1):
    """A PyTorch training loop; ``variant`` is ``default`` or ``fused`` (the optimizer's
    implementation), with ``+cl`` for channels-last image memory (e.g. ``fused+cl``)."""
    import torch

    impl, _, layout = variant.partition("+")
    channels_last = layout == "cl"
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    kwargs = {"fused": True} if impl == "fused" else {}
    if optimizer == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, **kwargs)
    else:
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, **kwargs)
    loss_fn = torch.nn.CrossEntropyLoss()
    xb = torch.empty((batch, *X.shape[1:]))
    yb = torch.empty(batch, dtype=torch.int64)
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(X)))
    n_batches = len(X) // batch
    pos = [0]

    def run(k: int) -> None:
        for _ in range(k):
            b = pos[0] % n_batches
            pos[0] += 1
            idx = order[b * batch : (b + 1) * batch]
            torch.index_select(Xt, 0, idx, out=xb)
            torch.index_select(yt, 0, idx, out=yb)
            x = xb.contiguous(memory_format=torch.channels_last) if channels_last else xb
            opt.zero_grad(set_to_none=True)
            out = net(x)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            loss.item()
            int((out.argmax(1) == yb).sum())

    return run


def sklearn_runner(widths: tuple[int, ...], optimizer: str, X: np.ndarray, y: np.ndarray, batch: int, seed: int = 1):
    """scikit-learn's MLPClassifier through ``partial_fit`` (one pass of minibatches per call)."""
    import warnings

    from sklearn.neural_network import MLPClassifier

    if optimizer == "adam":
        kwargs = dict(solver="adam", learning_rate_init=1e-3)
    else:
        kwargs = dict(solver="sgd", learning_rate_init=0.01, momentum=0.9, nesterovs_momentum=False)
    clf = MLPClassifier(
        hidden_layer_sizes=widths, batch_size=batch, alpha=0.0, shuffle=True, random_state=seed, **kwargs
    )
    classes = np.unique(y)
    order = np.random.default_rng(seed).permutation(len(X))
    n_batches = len(X) // batch
    pos = [0]

    def run(k: int) -> None:
        b = pos[0] % max(n_batches - k + 1, 1)
        pos[0] += k
        idx = np.sort(order[b * batch : (b + k) * batch])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.partial_fit(X[idx], y[idx], classes=classes)

    return run
