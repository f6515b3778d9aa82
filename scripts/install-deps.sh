#!/usr/bin/env bash
# Installs everything resilinet needs on Debian 12 (compiler, CMake, libraries, Fashion-MNIST).
set -euo pipefail
packages=(build-essential cmake libeigen3-dev libxtensor-dev libxtensor-blas-dev libopenblas-dev libzmq3-dev cppzmq-dev
          libopenmpi-dev openmpi-bin
          doctest-dev catch2 libstb-dev libturbojpeg0-dev libcli11-dev zlib1g-dev dataset-fashion-mnist python3 pkg-config doxygen)
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
echo "== installing dependencies with apt-get: ${packages[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
