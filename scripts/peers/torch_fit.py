#!/usr/bin/env python3
"""PyTorch peer of `lstm-harness fit --task classify` for the speed comparison.

Trains `nn.LSTM(F, H) + nn.Linear(H, K)` with Adam (Keras' defaults: lr, beta 0.9/0.999,
eps 1e-7), softmax CE, on the `.npy` trio the harness reads (X [N, T, F] float32, lengths
[N], y [N]), with the same shape of epoch as `fit`: a stratification-free 20 % validation
split carved from the training data, shuffled mini-batches of the rest, variable lengths
through `pack_padded_sequence` (PyTorch's batched kernel over the whole batch), the
validation loss after each epoch. Prints the median and minimum seconds per epoch (the
whole epoch: training batches plus validation), then the test accuracy.

Usage: torch_fit.py DIR [--hidden 64] [--batch 32] [--epochs 30] [--threads N] [--seed 1]
DIR holds X_train.npy, lengths_train.npy, y_train.npy, X_test.npy, ... (testdata layout).
Not run by CI: it needs torch (a scratch venv: python3 -m venv v; v/bin/pip install torch).
"""
import argparse
import statistics
import time

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence


def load(d, part):
    x = np.load(f"{d}/X_{part}.npy").astype(np.float32)
    n = np.load(f"{d}/lengths_{part}.npy").astype(np.int64)
    y = np.load(f"{d}/y_{part}.npy").astype(np.int64)
    return x, n, y


class Net(nn.Module):
    def __init__(self, f, h, k):
        super().__init__()
        self.lstm = nn.LSTM(f, h, batch_first=True)
        self.head = nn.Linear(h, k)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)
        return self.head(h[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    x, n, y = load(a.dir, "train")
    xt, nt, yt = load(a.dir, "test")
    mean = np.concatenate([x[i, : n[i]] for i in range(len(n))]).mean(0)
    std = np.concatenate([x[i, : n[i]] for i in range(len(n))]).std(0) + 1e-8
    x, xt = (x - mean) / std, (xt - mean) / std
    perm = rng.permutation(len(y))
    nval = max(1, round(0.2 * len(y)))
    val, tr = perm[:nval], perm[nval:]
    k = int(y.max()) + 1
    net = Net(x.shape[2], a.hidden, k)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    lossf = nn.CrossEntropyLoss()
    X, N, Y = torch.from_numpy(x), torch.from_numpy(n), torch.from_numpy(y)
    times = []
    for _ in range(a.epochs):
        t0 = time.perf_counter()
        net.train()
        order = tr[rng.permutation(len(tr))]
        for s in range(0, len(order), a.batch):
            b = torch.from_numpy(order[s : s + a.batch])
            opt.zero_grad()
            loss = lossf(net(X[b], N[b]), Y[b])
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            vb = torch.from_numpy(val)
            lossf(net(X[vb], N[vb]), Y[vb]).item()
        times.append(time.perf_counter() - t0)
    with torch.no_grad():
        pred = net(torch.from_numpy(xt), torch.from_numpy(nt)).argmax(1).numpy()
    print(
        f"torch {torch.__version__} threads {torch.get_num_threads()} H {a.hidden} batch {a.batch}: "
        f"median {statistics.median(times[1:]):.4f} s/epoch, min {min(times):.4f}, "
        f"test acc {(pred == yt).mean():.3f}"
    )


if __name__ == "__main__":
    main()
