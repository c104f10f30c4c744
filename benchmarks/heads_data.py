"""The data protocol of the shipped heads: a hold-out that cannot leak, and the dev challenge set.

    python -m benchmarks.heads_data            # writes runs/splits/ (and prints the manifest)

From ``../shared/data/parallel/en-pt/train.tsv`` (47k pairs) it holds back, once and
reproducibly (nothing here is random but a seeded sample):

* every Tatoeba sentence translated more than once, in either direction, with every other
  row that shares its English or Portuguese text: the *alternative groups*. A hash of each
  group sends it to ``alt-dev`` (tuning: alternative tolerance on dev) or ``alt-test``
  (reported, never tuned on), about half each;
* a dev slice of 2,000 pairs: the alt-dev groups plus a seeded sample of the other rows,
  proportional to their origins.

The heads train on the rest (``train.tsv``). Dev = the dev slice + the non-FLORES rows of
``dev.tsv``: the dev loss (early stopping, the kept head) and the dev challenge set (error
detection per kind on every dev pair; alternative tolerance on the alt-dev groups) choose every
recipe setting, the shipped method and aggregation, and the span thresholds. FLORES devtest
(the FLORES rows of ``dev.tsv``), the alt-test groups and BioMQM are the test sets.
"""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

from sigmoid_qe.files import read_table

ROOT = Path(__file__).resolve().parents[1]

DATA = ROOT.parent / "shared" / "data" / "parallel" / "en-pt"
SPLITS = ROOT / "runs" / "splits"
DEV_SLICE_PAIRS = 2000
SAMPLE_SEED = 0
HEADER = ("en", "pt", "origin")

Row = Dict[str, str]


def read_rows(path: Path) -> List[Row]:
    return read_table(path).records()


def write_rows(path: Path, rows: Sequence[Row]) -> str:
    """Write a TSV with the corpus' header; returns its sha256."""
    text = "\t".join(HEADER) + "\n" + "".join(
        "\t".join(row[k] for k in HEADER) + "\n" for row in rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def alternative_groups(rows: Sequence[Row]) -> List[List[int]]:
    """Row indices of every group of rows linked by a shared English or Portuguese text, for
    the groups where some Tatoeba text has two or more distinct translations."""
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_text: Dict[Tuple[str, str], List[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_text[("en", row["en"])].append(i)
        by_text[("pt", row["pt"])].append(i)
    for members in by_text.values():
        for i in members[1:]:
            parent[find(i)] = find(members[0])
    components: Dict[int, List[int]] = defaultdict(list)
    for i in range(len(rows)):
        components[find(i)].append(i)
    groups = []
    for members in components.values():
        tatoeba = [i for i in members if rows[i]["origin"] == "tatoeba"]
        multi = any(len({rows[j]["pt"] for j in tatoeba if rows[j]["en"] == rows[i]["en"]}) > 1 or
                    len({rows[j]["en"] for j in tatoeba if rows[j]["pt"] == rows[i]["pt"]}) > 1
                    for i in tatoeba)
        if multi:
            groups.append(sorted(members))
    return sorted(groups)


def _to_dev(group: List[int], rows: Sequence[Row]) -> bool:
    key = "\n".join(f"{rows[i]['en']}\t{rows[i]['pt']}" for i in group).encode("utf-8")
    return hashlib.sha256(key).digest()[0] % 2 == 0


def split(rows: Sequence[Row]) -> Dict[str, List[Row]]:
    """{"train", "dev-slice", "alt-dev", "alt-test"}: see the module docstring."""
    groups = alternative_groups(rows)
    alt_dev = [i for g in groups if _to_dev(g, rows) for i in g]
    alt_test = [i for g in groups if not _to_dev(g, rows) for i in g]
    held = set(alt_dev) | set(alt_test)
    rest = [i for i in range(len(rows)) if i not in held]
    want = max(0, DEV_SLICE_PAIRS - len(alt_dev))
    by_origin: Dict[str, List[int]] = defaultdict(list)
    for i in rest:
        by_origin[rows[i]["origin"]].append(i)
    rng = np.random.default_rng(SAMPLE_SEED)
    sample: List[int] = []
    for origin in sorted(by_origin):
        members = by_origin[origin]
        k = round(want * len(members) / len(rest))
        sample += sorted(rng.choice(members, size=min(k, len(members)), replace=False).tolist())
    dev = sorted(set(alt_dev) | set(sample))
    taken = set(dev) | set(alt_test)
    return {"train": [rows[i] for i in range(len(rows)) if i not in taken],
            "dev-slice": [rows[i] for i in dev],
            "alt-dev": [rows[i] for i in sorted(alt_dev)],
            "alt-test": [rows[i] for i in sorted(alt_test)]}


def dev_rows(data_dir: Path = DATA) -> List[Row]:
    """The non-FLORES rows of dev.tsv (FLORES devtest is a test set)."""
    return [r for r in read_rows(data_dir / "dev.tsv") if r["origin"] != "flores"]


def flores_rows(data_dir: Path = DATA) -> List[Row]:
    return [r for r in read_rows(data_dir / "dev.tsv") if r["origin"] == "flores"]


def make_splits(data_dir: Path = DATA, out: Path = SPLITS) -> Dict[str, object]:
    """Write the split files (idempotent: the same input always gives the same files)."""
    parts = split(read_rows(data_dir / "train.tsv"))
    parts["dev"] = parts["dev-slice"] + dev_rows(data_dir)
    manifest = {"source": str(data_dir / "train.tsv"),
                "source_sha256": hashlib.sha256((data_dir / "train.tsv").read_bytes()).hexdigest(),
                "files": {}}
    for name, rows in parts.items():
        manifest["files"][name] = {"path": str(out / f"{name}.tsv"), "pairs": len(rows),
                                   "sha256": write_rows(out / f"{name}.tsv", rows)}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def dev_items(lp: str, seed: int = 0):
    """The dev challenge set of a direction: (detection items on every dev pair, tolerance
    items on the alt-dev groups), the same perturbations for every head and method."""
    from sigmoid_qe.challenge.sets import alternatives, detection_items, tolerance_items
    src, tgt = lp.split("-")
    rows = load_split("dev-slice") + dev_rows()
    pairs = list(dict.fromkeys((r[src], r[tgt]) for r in rows))
    detection = detection_items(pairs, tgt, src, seed=seed)
    groups = alternatives((r[src], r[tgt]) for r in load_split("alt-dev"))
    tolerance = tolerance_items(groups, tgt, src, seed=seed)
    return detection, tolerance


def load_split(name: str, out: Path = SPLITS) -> List[Row]:
    path = out / f"{name}.tsv"
    if not path.is_file():
        make_splits(out=out)
    return read_rows(path)


if __name__ == "__main__":
    print(json.dumps(make_splits(), indent=2))
