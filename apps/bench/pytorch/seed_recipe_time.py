"""PyTorch reference for `pnpm bench --time-to-accuracy`: the seed blog post's recipe, timed to a test accuracy.

The seed's model and recipe: torchvision's Resize((32,32)) (PIL bilinear) + ToTensor, no normalisation, Adam 1e-3,
batch 64, shuffled. Images are resized once up front (as a cached dataset would be), so the clock measures training
and evaluation only, as `lenet train` does. Prints one JSON line per epoch and stops at the target accuracy.
Run with Debian's interpreter: /usr/bin/python3 seed_recipe_time.py IDX_DIR THREADS MAX_EPOCHS TARGET
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from lenet5_bench import LeNet_5


def load(idx_dir, split):
    prefix = "train" if split == "train" else "t10k"
    images = np.fromfile(f"{idx_dir}/{prefix}-images-idx3-ubyte", dtype=np.uint8, offset=16).reshape(-1, 28, 28)
    labels = np.fromfile(f"{idx_dir}/{prefix}-labels-idx1-ubyte", dtype=np.uint8, offset=8)
    resized = np.stack([np.asarray(Image.fromarray(i).resize((32, 32), Image.BILINEAR)) for i in images])
    x = torch.from_numpy(resized.astype(np.float32) / 255.0).unsqueeze(1)
    return x, torch.from_numpy(labels.astype(np.int64))


def main():
    idx_dir, threads, max_epochs, target = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x_train, y_train = load(idx_dir, "train")
    x_test, y_test = load(idx_dir, "test")
    model = LeNet_5()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    elapsed = 0.0
    for epoch in range(1, max_epochs + 1):
        started = time.perf_counter()
        model.train()
        for idx in torch.randperm(x_train.shape[0]).split(64):
            optimizer.zero_grad()
            F.cross_entropy(model(x_train[idx]), y_train[idx]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
        elapsed += time.perf_counter() - started
        print(json.dumps({"epoch": epoch, "seconds": elapsed, "testAccuracy": accuracy}), flush=True)
        if accuracy >= target:
            break


if __name__ == "__main__":
    main()
