#!/usr/bin/env bash
# What the test suite needs from Debian/Ubuntu besides Node: Chromium for the demo's browser tests (playwright-core
# drives /usr/bin/chromium and never downloads a browser), and SwiftShader's Vulkan driver (chromium-common) with the
# Vulkan loader, so the webgpu backend runs without a GPU. Does nothing when they are there already.
set -euo pipefail
if [ -f /usr/lib/chromium/vk_swiftshader_icd.json ] && ldconfig -p | grep -q 'libvulkan\.so\.1 ' &&
  command -v chromium >/dev/null; then
  exit 0
fi
sudo_=$([ "$(id -u)" = 0 ] || echo sudo)
$sudo_ apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends \
  chromium chromium-common fonts-liberation libvulkan1 >/dev/null
