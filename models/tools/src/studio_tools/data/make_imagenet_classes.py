"""Writes imagenet_classes.json: the 1000 ILSVRC-2012 class names in label order, with synonyms.

Names come from torchvision's category list (the short names people know, "tench",
"goldfish"); synonyms are the WordNet lemmas of each class's synset, from timm's
ImageNet info files. Both are read straight from the published wheels:

    pip download --no-deps torchvision==0.29.1 timm==1.0.31 -d /tmp/wheels
    python -m studio_tools.data.make_imagenet_classes /tmp/wheels/torchvision-*.whl /tmp/wheels/timm-*.whl
"""

from __future__ import annotations

import argparse
import ast
import json
import zipfile
from pathlib import Path

OUTPUT = Path(__file__).with_name("imagenet_classes.json")
CLASSES = 1000


def torchvision_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        source = archive.read("torchvision/models/_meta.py").decode("utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "_IMAGENET_CATEGORIES" for target in node.targets
        ):
            return list(ast.literal_eval(node.value))
    raise ValueError(f"{wheel.name} has no _IMAGENET_CATEGORIES list")


def timm_lemmas(wheel: Path) -> list[list[str]]:
    """WordNet lemmas of the 1000 synsets, in label order (sorted synset ids, as ILSVRC numbers them)."""
    with zipfile.ZipFile(wheel) as archive:
        synsets = archive.read("timm/data/_info/imagenet_synsets.txt").decode("utf-8").split()
        lemma_lines = archive.read("timm/data/_info/imagenet_synset_to_lemma.txt").decode("utf-8").splitlines()
    lemmas = dict(line.split("\t", 1) for line in lemma_lines if "\t" in line)
    return [[lemma.strip() for lemma in lemmas[synset].split(",") if lemma.strip()] for synset in synsets]


def build(names: list[str], lemmas: list[list[str]]) -> dict[str, object]:
    if len(names) != CLASSES or len(lemmas) != CLASSES:
        raise ValueError(f"expected {CLASSES} classes, got {len(names)} names and {len(lemmas)} lemma lists")
    synonyms = []
    for name, words in zip(names, lemmas, strict=True):
        seen = {name.lower()}
        unique = []
        for word in words:
            if word.lower() not in seen:
                seen.add(word.lower())
                unique.append(word)
        synonyms.append(unique)
    return {
        "about": (
            "ILSVRC-2012 classes in label order: names from torchvision, synonyms are the WordNet lemmas of each synset"
        ),
        "names": names,
        "synonyms": synonyms,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("torchvision_wheel", type=Path)
    parser.add_argument("timm_wheel", type=Path)
    args = parser.parse_args(argv)
    data = build(torchvision_names(args.torchvision_wheel), timm_lemmas(args.timm_wheel))
    OUTPUT.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT} ({CLASSES} classes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
