#!/usr/bin/python3
"""The benchmark networks in PyTorch, timed like resilinet's bench_*_step binaries.

The health network (deepFogGuard, partition 1, as bench_health_step builds it) trains with
Adam at batch 1024; the CIFAR MobileNet v1 (alpha 0.75) and ResNet-18 v2 at batch 128; each is
then timed in inference at that batch and at batch 1 (torch.inference_mode). Run with Debian's
python3-torch:

    /usr/bin/python3 benchmarks/torch_reference.py --model health --threads 1

Prints one line in the format of resilinet's benchmarks, so compare_pytorch.sh can put the
two side by side. CNN layers follow spec 3.2/3.3 (Keras padding: the odd pixel bottom/right).
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class KerasPad(nn.Module):
    """Zero padding of (left, right, top, bottom) pixels."""

    def __init__(self, pad):
        super().__init__()
        self.pad = pad

    def forward(self, x):
        return F.pad(x, self.pad)


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


def mobilenet(alpha=0.75, classes=10):
    layers = [KerasPad((0, 1, 0, 1)), nn.Conv2d(3, int(32 * alpha), 3, 1, bias=False), bn(int(32 * alpha)), nn.ReLU6()]
    c = int(32 * alpha)
    for f, s in [(64, 1), (128, 1), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]:
        f = int(f * alpha)
        if s == 1:
            layers += [nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False)]
        else:
            layers += [KerasPad((0, 1, 0, 1)), nn.Conv2d(c, c, 3, 2, 0, groups=c, bias=False)]
        layers += [bn(c), nn.ReLU6(), nn.Conv2d(c, f, 1, bias=False), bn(f), nn.ReLU6()]
        c = f
    layers += [nn.AdaptiveAvgPool2d(1), nn.Dropout(1e-3), nn.Conv2d(c, classes, 1), nn.Flatten()]
    return nn.Sequential(*layers)


class SamePadConv(nn.Module):
    """Conv with Keras "same" padding for stride s (asymmetric when needed)."""

    def __init__(self, cin, cout, k, s):
        super().__init__()
        self.k, self.s = k, s
        self.conv = nn.Conv2d(cin, cout, k, s)

    def forward(self, x):
        h, w = x.shape[2], x.shape[3]
        oh, ow = -(-h // self.s), -(-w // self.s)
        ph, pw = max((oh - 1) * self.s + self.k - h, 0), max((ow - 1) * self.s + self.k - w, 0)
        return self.conv(F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)))


class Block(nn.Module):
    def __init__(self, cin, f, s, first):
        super().__init__()
        pre = [] if first else [bn(cin), nn.ReLU()]
        self.residual = nn.Sequential(*pre, SamePadConv(cin, f, 3, s), bn(f), nn.ReLU(), SamePadConv(f, f, 3, 1))
        self.shortcut = nn.Identity() if (s == 1 and cin == f) else nn.Sequential(nn.Conv2d(cin, f, 1, s), bn(f))

    def forward(self, x):
        return self.shortcut(x) + self.residual(x)


class MaxPoolSame(nn.Module):
    def forward(self, x):
        h = x.shape[2]
        oh = -(-h // 2)
        p = max((oh - 1) * 2 + 3 - h, 0)
        return F.max_pool2d(F.pad(x, (p // 2, p - p // 2, p // 2, p - p // 2), value=-float("inf")), 3, 2)


def resnet(classes=10):
    layers = [SamePadConv(3, 64, 7, 2), bn(64), nn.ReLU(), MaxPoolSame()]
    c = 64
    for stage, f in enumerate([64, 128, 256, 512]):
        for k in range(2):
            layers.append(Block(c, f, 2 if k == 0 else 1, stage == 0 and k == 0))
            c = f
    layers += [bn(c), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes)]
    return nn.Sequential(*layers)


class Health(nn.Module):
    """The health network of bench_health_step: every link multiplies by its weight (1) and
    the hyperconnections are summed into the node they reach, as resilinet computes it."""

    def __init__(self, hidden=250):
        super().__init__()
        self.edge = nn.Linear(23, hidden)
        self.skip = nn.Linear(23, hidden)  # IoT -> fog2, linear
        self.fog2 = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(2))
        self.fog1 = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(3))
        self.cloud = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(4))
        self.out = nn.Linear(hidden, 13)
        self.w = 1.0

    @staticmethod
    def chain(layers, h):
        for layer in layers:
            h = F.relu(layer(h))
        return h

    def forward(self, x):
        w = self.w
        e = F.relu(self.edge(w * x))
        f2 = self.chain(self.fog2, w * e + w * self.skip(x))
        f1 = self.chain(self.fog1, w * f2 + w * e)
        return self.out(self.chain(self.cloud, w * f1 + w * f2))


def seconds_per_call(f, warmup, budget):
    """Seconds per call of f over as many calls as fit in `budget` seconds (at least 3)."""
    for _ in range(warmup):
        f()
    t0 = time.perf_counter()
    calls, elapsed = 0, 0.0
    while calls < 3 or elapsed < budget:
        f()
        calls += 1
        elapsed = time.perf_counter() - t0
    return elapsed / calls


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=["health", "mobilenet", "resnet"], required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seconds", type=float, default=2.0, help="seconds per timed measurement")
    p.add_argument("--channels-last", action="store_true", help="NHWC memory format (like resilinet)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.model == "health":
        model, batch, example, classes = Health(), 1024, (23,), 13
    else:
        model = mobilenet() if a.model == "mobilenet" else resnet()
        batch, example, classes = 128, (3, 32, 32), 10
    x = torch.rand(batch, *example)
    x1 = torch.rand(1, *example)
    y = torch.randint(0, classes, (batch,))
    if a.channels_last and a.model != "health":
        model = model.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)
        x1 = x1.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)

    def train():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    model.train()
    train_s = seconds_per_call(train, 2, a.seconds)
    model.eval()
    with torch.inference_mode():
        infer_s = seconds_per_call(lambda: model(x), 2, a.seconds)
        b1 = seconds_per_call(lambda: model(x1), 20, a.seconds)
    layout = "-nhwc" if a.channels_last else ""
    print(f"pytorch{layout} {a.model} threads={a.threads} train_ex_s={batch / train_s:.1f} "
          f"infer_ex_s={batch / infer_s:.1f} infer_us_b1={1e6 * b1:.1f}", flush=True)


if __name__ == "__main__":
    main()
