#!/usr/bin/env bash
# Regenerate the pictures in docs/ with the commands they illustrate (fixed seeds, about 15 seconds).
# Run from the repository root: bash docs/make_images.sh
set -euo pipefail
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"  # these models are too small for threads to help
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the range test: three seeds of SGD on the default MLP and digits
nnctl lr-find --optimizer sgd --repeats 3 --results-dir "$tmp/lr" --quiet > /dev/null
cp "$tmp"/lr/*/lr_find.png docs/lr_find.png

# learning curves of a run that overfits: a wide network, 80 noisy two-moons points, no regularization
nnctl train --data moons:n=200,noise=0.35 --model mlp:256,256 --lr 0.01 --batch-size 16 --epochs 100 \
            --val-split 0.4 --test-split 0.2 --results-dir "$tmp/curves" --name overfit --quiet > /dev/null
nnctl plot "$tmp"/curves/*-overfit --out docs/curves.png --force > /dev/null

# a 24-trial sweep: three learning rates × four initializers × two seeds, one panel per rate
nnctl sweep grid --name init-lr --model mlp:32 --optimizer sgd --epochs 15 -p lr=0.3,0.03,0.003 \
      -p "init=zeros;normal:std=1;glorot_normal;he_normal" --repeats 2 --results-dir "$tmp/compare" --quiet > /dev/null
nnctl compare-runs init-lr --results-dir "$tmp/compare" --plot docs/compare.png --force --group-by seed --markdown
