"""How much of a model's step from its parent do its siblings, and its children, share?

For every full fine-tune X of a parent P in a truth-labelled cache, regresses each sibling's step
(Z - P) and each child's step (Y - P) on X's own step (X - P), over every value of every 2-D
tensor in float64: share = <Z - P, X - P> / |X - P|^2. A true child keeps its parent's step
(about 1, less where it undid part of it); a sibling keeps only what the two runs have in common.
Siblings are split by their parent: a root's children, and a fine-tune's children. Where the
ranges overlap, no test of "does it contain its parent's step" can tell a grandchild from a
sibling.

Then the same test calibrated by a third model: for X and another child Z of P, how much more
a model Y resembles X than Z, <Y - P, X - Z> / |X - Z|^2. A sibling of both resembles them
alike (about 0); a child of X carries X's own step and not Z's. README ("Where it still
fails", "Tried and dropped") quotes both.

Last, whether the common move is the continuation of the parent's own step: for P with parent R,
the cosine of each child's step with P - R, and the siblings' share once that direction is taken
out of both steps.

Usage: python sibling_share.py FAMILY...   (each FAMILY holds hub/ and truth.json)
Needs numpy, ml_dtypes and safetensors (pip). LoRA trees (ids containing "lora") are skipped.
"""
import json
import sys

import numpy as np

from hub_weights import matrices


def flat_weights(family, model_id):
    by_name = matrices(family, model_id)
    return np.concatenate([by_name[k].ravel() for k in sorted(by_name)])


def shares(family, into):
    truth = json.load(open(f"{family}/truth.json"))
    parent = {c: p for c, p in truth["truth"].items() if p}
    children = {}
    for child, p in parent.items():
        children.setdefault(p, []).append(child)
    loaded = {}

    def weights(model_id):
        if model_id not in loaded:
            loaded[model_id] = flat_weights(family, model_id)
        return loaded[model_id]

    for p, kids in children.items():
        if "lora" in p:
            continue
        level = "under a root" if p not in parent else "under a fine-tune"
        if p in parent:
            along = weights(p) - weights(parent[p])
            along /= np.linalg.norm(along)
            for x in kids:
                step = weights(x) - weights(p)
                into["cosine of a step with its parent's own"].append(
                    step @ along / np.linalg.norm(step)
                )
                rest = step - (step @ along) * along
                for z in kids:
                    if z != x:
                        other = weights(z) - weights(p)
                        other = other - (other @ along) * along
                        into["siblings under a fine-tune, its own step taken out"].append(
                            other @ rest / (rest @ rest)
                        )
        for x in kids:
            step = weights(x) - weights(p)
            energy = step @ step
            for y in children.get(x, []):
                into["children"].append((weights(y) - weights(p)) @ step / energy)
            for z in kids:
                if z == x:
                    continue
                into[f"siblings {level}"].append((weights(z) - weights(p)) @ step / energy)
                apart = weights(x) - weights(z)
                spread = apart @ apart
                for y in children.get(x, []):
                    into[f"beyond a sibling: children {level}"].append(
                        (weights(y) - weights(p)) @ apart / spread
                    )
                for y in kids:
                    if y not in (x, z):
                        into[f"beyond a sibling: siblings {level}"].append(
                            (weights(y) - weights(p)) @ apart / spread
                        )


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    found = {
        "children": [],
        "siblings under a root": [],
        "siblings under a fine-tune": [],
        "beyond a sibling: children under a root": [],
        "beyond a sibling: children under a fine-tune": [],
        "beyond a sibling: siblings under a root": [],
        "beyond a sibling: siblings under a fine-tune": [],
        "cosine of a step with its parent's own": [],
        "siblings under a fine-tune, its own step taken out": [],
    }
    for family in sys.argv[1:]:
        shares(family, found)
    for kind, values in found.items():
        if not values:
            continue
        v = np.array(values)
        print(
            f"{kind}: {len(v)} pairs, min {v.min():.2f}, 5% {np.percentile(v, 5):.2f}, "
            f"median {np.median(v):.2f}, 95% {np.percentile(v, 95):.2f}, max {v.max():.2f}"
        )
