#!/bin/sh
# SRNN recipe (docs/results.md) with a likelihood and seed: $1 likelihood, $2 seed
# (--recipe none: the flags below are the whole recipe, as when these runs were made)
B=${BIN:-target/release/neuromod}
out=${OUT:-runs/jsb-nade}/srnn-$1-s$2
mkdir -p "${OUT:-runs/jsb-nade}"
start=$(date +%s)
RAYON_NUM_THREADS=1 $B train --dataset jsb --recipe none --model srnn --epochs 200 --batch-size 8 --dropout 0.5 --lr 1e-3 --lr-final 5e-5 --kl-anneal-epochs 50 --kl-start 0.01 --patience 50 --ema 0.999 --likelihood $1 --seed $2 --out $out > $out.log 2>&1
end=$(date +%s)
echo "wall $((end-start)) s" >> $out.log
RAYON_NUM_THREADS=1 $B eval --checkpoint $out --split test --samples 3 > $out.eval 2>&1
RAYON_NUM_THREADS=1 $B eval --checkpoint $out --split test --bound iwae --particles 100 >> $out.eval 2>&1
RAYON_NUM_THREADS=1 $B eval --checkpoint $out --split test --bound smc --particles 100 >> $out.eval 2>&1
