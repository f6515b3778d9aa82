#!/usr/bin/python3
"""The same CIFAR MobileNet v1 (alpha 0.75) and ResNet-18 v2 in PyTorch, timed like
bench_mobilenet_step / bench_resnet_step: Adam training steps at batch 128, inference at
batch 128 and at batch 1. Run with Debian's python3-torch:

    /usr/bin/python3 benchmarks/torch_reference.py --model mobilenet --threads 1

Prints one line in the format of resilinet's benchmarks, so compare_pytorch.sh can put the
two side by side. Layers follow spec 3.2/3.3 (Keras padding: the odd pixel bottom/right).
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


def seconds_per_call(f, warmup, reps):
    for _ in range(warmup):
        f()
    t0 = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - t0) / reps


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=["mobilenet", "resnet"], required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--channels-last", action="store_true", help="NHWC memory format (like resilinet)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = mobilenet() if a.model == "mobilenet" else resnet()
    x = torch.rand(128, 3, 32, 32)
    x1 = torch.rand(1, 3, 32, 32)
    y = torch.randint(0, 10, (128,))
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)
        x1 = x1.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)

    def train():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    model.train()
    train_s = seconds_per_call(train, 2, a.reps)
    model.eval()
    with torch.no_grad():
        infer_s = seconds_per_call(lambda: model(x), 2, a.reps * 2)
        b1 = seconds_per_call(lambda: model(x1), 5, 50)
    layout = "-nhwc" if a.channels_last else ""
    print(f"pytorch{layout} {a.model} threads={a.threads} train_img_s={128 / train_s:.1f} "
          f"infer_img_s={128 / infer_s:.1f} infer_ms_b1={1e3 * b1:.3f}", flush=True)


if __name__ == "__main__":
    main()
