"""PyTorch port of our `default` recipe for `pnpm bench --time-to-accuracy`, timed to a test accuracy.

The recipe as `lenet train` runs it (apps/trainer/src/recipe.ts and schedule.ts): MNIST padded 28->32 and
normalised with its mean and std; every training image gets a fresh random rotation (up to 10 degrees either way),
zoom (0.9-1.1) and shift (up to 2 pixels along each axis) each epoch; batch 128, shuffled; Adam with a linear
warm-up then cosine decay to 0, peak learning rate 3e-3, over 12 epochs; the seed's LeNet-5 (tanh, average pooling).

Written as a PyTorch user would: the dataset is padded and normalised into tensors once, each batch is distorted
with one affine matrix per image through F.affine_grid / F.grid_sample, and LambdaLR applies the schedule per step.
The clock starts once the data is prepared and the model built, and covers training and the test-set evaluation
(batch 1000, no_grad) after every epoch. Prints one JSON line per epoch, as seed_recipe_time.py does, and stops at
the first epoch at or above TARGET (or after MAX_EPOCHS; the schedule always spans the recipe's 12 epochs).
Run with Debian's interpreter: /usr/bin/python3 default_recipe_time.py IDX_DIR THREADS MAX_EPOCHS TARGET
The GPU check runs it with --device cuda: the dataset then lives in GPU memory and every step runs there (the random
distortions are drawn from the same CPU generator, so each device sees the same recipe). --limit, --test-limit and
--epochs (the schedule's length, as `lenet train --epochs`) shrink it for a quick run.
"""
import argparse
import json
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from lenet5_bench import LeNet_5

MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
BATCH_SIZE = 128
EPOCHS = 12
PEAK_LEARNING_RATE = 3e-3
MAX_ROTATION_DEGREES = 10.0
ZOOM_RANGE = (0.9, 1.1)
MAX_SHIFT_PIXELS = 2.0
IMAGE_SIZE = 32
# The value of a black pixel after normalisation: what the distortions bring in from outside the image.
BACKGROUND = (0.0 - MNIST_MEAN) / MNIST_STD


def load(idx_dir, split, limit=None, device="cpu"):
    """One split as (N, 1, 32, 32) normalised floats and int64 labels: the 28x28 digits with 2 black pixels around."""
    prefix = "train" if split == "train" else "t10k"
    images = np.fromfile(f"{idx_dir}/{prefix}-images-idx3-ubyte", dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)
    labels = np.fromfile(f"{idx_dir}/{prefix}-labels-idx1-ubyte", dtype=np.uint8, offset=8)
    images, labels = images[:limit], labels[:limit]
    x = F.pad(torch.from_numpy(images).float() / 255.0, (2, 2, 2, 2))
    return ((x - MNIST_MEAN) / MNIST_STD).to(device), torch.from_numpy(labels.astype(np.int64)).to(device)


def learning_rate_factor(step, total_steps):
    """The share of the peak learning rate at `step`: schedule.ts's linear warm-up, then cosine decay to 0."""
    warmup = min(200, total_steps // 20)
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
    return 0.5 * (1 + math.cos(math.pi * progress))


def distort(x, generator):
    """Each image rotated and zoomed about its centre, then shifted, bilinearly; outside pixels are black."""
    n = x.shape[0]
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(MAX_ROTATION_DEGREES)
    zoom = ZOOM_RANGE[0] + torch.rand(n, generator=generator) * (ZOOM_RANGE[1] - ZOOM_RANGE[0])
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * MAX_SHIFT_PIXELS
    # affine_grid maps each output pixel to where it is read from, in coordinates from -1 to 1 across the image
    # (align_corners=True: -1 and 1 are the centres of the edge pixels): undo the shift, then the rotation and zoom.
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    rotate_zoom = torch.stack([torch.stack([cos, sin], 1), torch.stack([-sin, cos], 1)], 1)
    shift_normalised = shift / ((IMAGE_SIZE - 1) / 2)
    offset = -(rotate_zoom @ shift_normalised.unsqueeze(2))
    theta = torch.cat([rotate_zoom, offset], 2).to(x.device)
    grid = F.affine_grid(theta, list(x.shape), align_corners=True)
    # grid_sample reads zeros outside the image; shifting by the background makes those black pixels instead.
    return F.grid_sample(x - BACKGROUND, grid, mode="bilinear", padding_mode="zeros", align_corners=True) + BACKGROUND


def evaluate(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, x.shape[0], 1000):
            logits = model(x[start : start + 1000])
            correct += (logits.argmax(1) == y[start : start + 1000]).sum().item()
    model.train()
    return correct / x.shape[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("idx_dir")
    parser.add_argument("threads", type=int)
    parser.add_argument("max_epochs", type=int)
    parser.add_argument("target", type=float)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--limit", type=int, help="train on the first N images only")
    parser.add_argument("--test-limit", type=int, help="evaluate on the first N test images only")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="the schedule's length in epochs")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    if args.device.startswith("cuda"):
        torch.backends.cudnn.benchmark = True
    x_train, y_train = load(args.idx_dir, "train", args.limit, args.device)
    x_test, y_test = load(args.idx_dir, "test", args.test_limit, args.device)
    model = LeNet_5().to(args.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=PEAK_LEARNING_RATE)
    total_steps = math.ceil(x_train.shape[0] / BATCH_SIZE) * args.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: learning_rate_factor(step, total_steps))
    generator = torch.Generator().manual_seed(1)

    started = time.perf_counter()
    for epoch in range(1, args.max_epochs + 1):
        loss_sum = 0.0
        for idx in torch.randperm(x_train.shape[0], generator=generator).to(args.device).split(BATCH_SIZE):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(distort(x_train[idx], generator)), y_train[idx])
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += loss.item() * idx.shape[0]
        accuracy = evaluate(model, x_test, y_test)
        seconds = time.perf_counter() - started
        line = {"epoch": epoch, "seconds": seconds, "testAccuracy": accuracy, "trainLoss": loss_sum / x_train.shape[0]}
        print(json.dumps(line), flush=True)
        if accuracy >= args.target:
            break


if __name__ == "__main__":
    main()
