#!/usr/bin/python3
"""scikit-learn's Barnes-Hut t-SNE on the data sets that `go run ./bench/tsne
-dump DIR` writes, for comparing by hand (Debian: apt-get install
python3-sklearn). Not used by any test.

    /usr/bin/python3 bench/tsne/sklearn_tsne.py DIR/clusters_5924_512.f64 [--pca 50] [--reps 3]

Prints the wall time of fit_transform (median) and kl_divergence_, with the
defaults of scikit-learn 1.2 made explicit (init="pca", learning_rate="auto").
--pca 50 first reduces the data with PCA, as dadash does by default.
"""
import argparse
import os
import re
import statistics
import time

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--pca", type=int, default=0)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--method", default="barnes_hut")
    a = ap.parse_args()
    n, d = map(int, re.search(r"clusters_(\d+)_(\d+)\.f64$", a.path).groups())
    x = np.fromfile(a.path, dtype="<f8").reshape(n, d)
    times, kls = [], []
    for _ in range(a.reps):
        t0 = time.time()
        z = x
        if a.pca and d > a.pca:
            z = PCA(n_components=a.pca, random_state=0).fit_transform(x)
        t = TSNE(n_components=2, perplexity=30.0, n_iter=1000, init="pca",
                 learning_rate="auto", method=a.method, random_state=0)
        t.fit_transform(z)
        times.append(time.time() - t0)
        kls.append(t.kl_divergence_)
    print("sklearn %s n=%d d=%d pca=%s threads=%s: %.2f s, KL %.4f" % (
        a.method, n, d, a.pca or "none", os.environ.get("OMP_NUM_THREADS", "all"),
        statistics.median(times), statistics.median(kls)))


if __name__ == "__main__":
    main()
