#!/usr/bin/env bash
# What `pnpm bench --vs-pytorch` needs from Debian/Ubuntu: PyTorch for Debian's python3 (python3-torch), Pillow for the
# seed's recipe (its torchvision-style bilinear resize), and tcmalloc, which the bench preloads into PyTorch: with
# glibc's malloc PyTorch gives large buffers back to the kernel every step and pays the page faults, far from its best.
# Does nothing when they are there already.
set -euo pipefail
packages=(python3-torch python3-pil libtcmalloc-minimal4)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo_=$([ "$(id -u)" = 0 ] || echo sudo)
$sudo_ apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
