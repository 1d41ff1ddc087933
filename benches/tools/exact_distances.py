"""Is a miss the sketch's or the weights'? Recovers each true tree of a truth-labelled cache as the
minimum spanning tree of *exact* relative L2 distances (every value of every shared 2-D tensor,
in float64, no sketch) and scores its links against the truth (undirected: structure only).

A link this gets wrong is wrong in the weights themselves: no method that reads the distance
between two models can place it. A link mother gets wrong but this gets right is sketch noise.
README, "Where it still fails", quotes it.

Usage: python exact_distances.py FAMILY...   (each FAMILY holds hub/ and truth.json)
Needs numpy, ml_dtypes and safetensors (pip). Reads every model of a tree at once: for the demo
and the BERT families that is well under a gigabyte.
"""
import json
import sys

from hub_weights import matrices as load

COPIES = ("cast", "quantized", "duplicate", "adapter")


def relative_distance(a, b):
    keys = [k for k in a if k in b and a[k].shape == b[k].shape]
    diff = sum(float(((a[k] - b[k]) ** 2).sum()) for k in keys)
    scale = sum(float((a[k] ** 2).sum() + (b[k] ** 2).sum()) for k in keys) / 2
    return (diff / scale) ** 0.5 if scale > 0 else 0.0


def score(family):
    truth = json.load(open(f"{family}/truth.json"))
    regime = truth.get("regime", {})
    parent = {c: p for c, p in truth["truth"].items() if p and regime.get(c) not in COPIES}

    def root(m):
        while m in parent:
            m = parent[m]
        return m

    trees = {}
    for m in set(parent) | set(parent.values()):
        trees.setdefault(root(m), set()).add(m)
    right = total = 0
    misses = []
    for members in trees.values():
        members = sorted(members)
        weights = {m: load(family, m) for m in members}
        n = len(members)
        d = [[relative_distance(weights[members[i]], weights[members[j]]) for j in range(n)] for i in range(n)]
        # Prim's algorithm: the links are what is scored, not their direction.
        joined, best = {0}, {j: (d[0][j], 0) for j in range(1, n)}
        while best:
            j = min(best, key=lambda k: best[k][0])
            _, i = best.pop(j)
            joined.add(j)
            a, b = members[i], members[j]
            ok = parent.get(a) == b or parent.get(b) == a
            right += ok
            total += 1
            if not ok:
                misses.append(f"{a} -- {b} ({d[i][j] * 100:.2f}%)")
            for k in best:
                if d[j][k] < best[k][0]:
                    best[k] = (d[j][k], j)
    print(f"{family}: exact-distance spanning tree {right}/{total} links right")
    for miss in misses:
        print(f"    wrong link {miss}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: exact_distances.py FAMILY...")
    for family in sys.argv[1:]:
        score(family)
