"""Does a model carry a merge's own step? The exact-weight check behind `merges::carried_share`.

For every merge M of a truth-labelled cache and each of its sources S (with S's parent P in the
truth), the merge's own step is u = (M - S) less its part along (P - S). Prints, over every
value of every 2-D tensor all of them share, in float64, the share <Y - S, u> / |u|^2 that each
model Y carries, for two kinds of Y:
  - "merge's child": a fine-tune of M (it carries about all of the step);
  - "source's child": a fine-tune of S that is no source of M (it carries only what moving
    back towards P brings).
mother moves a source's child under a merge only if the share is at least 0.5 (README, "Merged
models"; round 16).

Usage: python merge_step_share.py FAMILY...   (each FAMILY holds hub/ and truth.json with "merges")
Needs numpy, ml_dtypes and safetensors (pip).
"""
import json
import sys

import numpy as np

from hub_weights import matrices


def flat(weights, keys):
    return np.concatenate([weights[k].ravel() for k in keys])


def report(family):
    truth = json.load(open(f"{family}/truth.json"))
    parent = {c: p for c, p in truth["truth"].items() if p}
    for merge, sources in (truth.get("merges") or {}).items():
        for source in sources:
            grandparent = parent.get(source)
            kinds = [(c, "merge's child") for c, p in parent.items() if p == merge]
            kinds += [
                (c, "source's child")
                for c, p in parent.items()
                if p == source and c != merge and c not in sources
            ]
            for model, kind in kinds:
                ids = [model, merge, source] + ([grandparent] if grandparent else [])
                loaded = {m: matrices(family, m) for m in ids}
                keys = sorted(set.intersection(*(set(w) for w in loaded.values())))
                v = {m: flat(loaded[m], keys) for m in ids}
                step = v[merge] - v[source]
                if grandparent:
                    back = v[grandparent] - v[source]
                    step = step - (step @ back) / (back @ back) * back
                share = (v[model] - v[source]) @ step / (step @ step)
                print(f"{family}: {model} ({kind}) carries {share:.2f} of {merge}'s step from {source}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for family in sys.argv[1:]:
        report(family)
