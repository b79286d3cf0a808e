"""Make the corpora of `bench/scale_curve.py`: the first N passages of an extracted corpus, then renamed copies.

Sizes past the extracted corpus are made of copies of its document graphs (and passages) in which every
name changes consistently: copy ``k`` rotates every ASCII letter by ``k`` places and every digit by ``k``
("Jay-Z" -> "Kbz-A" in copy 1), in every plain literal (labels, aliases, titles, source sentences) and in
the passage text, so lengths and so character offsets stay valid; entity, statement and document IRIs get
a new digest per copy, so copies do not merge. Numbers that are not names (offsets, confidences) stay.

    python bench/scale_copies.py --kg runs/kg-2wiki --corpus ../shared/data/2wiki/corpus.jsonl \
        --out /tmp/scale-data --sizes 2000 4000 8000 16000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import string
from pathlib import Path
from urllib.parse import quote

BASE = "https://w3id.org/kgbuild/resource/"
HEADER = "# kgbuild "
XSD_STRING = "<http://www.w3.org/2001/XMLSchema#string>"
# N-Quads terms: IRIs, literals (with a datatype or language), blank nodes.
_TERM = re.compile(r'<[^>]*>|"(?:[^"\\]|\\.)*"(?:\^\^<[^>]*>|@[A-Za-z][A-Za-z0-9-]*)?|_:\S+')
_ESCAPE = re.compile(r"\\(?:u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")


def rotation(copy: int) -> dict[int, str]:
    """Return the `str.translate` table of copy `copy`: letters and digits rotated by `copy` places."""
    table: dict[int, str] = {}
    for alphabet in (string.ascii_lowercase, string.ascii_uppercase, string.digits):
        shift = copy % len(alphabet)
        for i, char in enumerate(alphabet):
            table[ord(char)] = alphabet[(i + shift) % len(alphabet)]
    return table


def copy_id(document_id: str, copy: int) -> str:
    """Return the corpus id of `document_id` in copy `copy` (copy 0 is the original)."""
    return document_id if copy == 0 else f"{document_id}-c{copy}"


def _digest(*parts: str, length: int) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:length]


def _rotate_literal(term: str, table: dict[int, str]) -> str:
    """Rotate a plain literal's characters (not its escapes); typed literals (numbers, dates) stay."""
    end = term.rindex('"')
    suffix = term[end + 1 :]
    if suffix.startswith("^^") and suffix[2:] != XSD_STRING:
        return term
    body, pieces, last = term[1:end], [], 0
    for escape in _ESCAPE.finditer(body):
        pieces += [body[last : escape.start()].translate(table), escape.group()]
        last = escape.end()
    pieces.append(body[last:].translate(table))
    return '"' + "".join(pieces) + '"' + suffix


def _rename_iri(term: str, copy: int, table: dict[int, str]) -> str:
    iri = term[1:-1]
    if iri.startswith(BASE + "entity/"):
        slug = iri[len(BASE + "entity/") :].rsplit("-", 1)[0]
        return f"<{BASE}entity/{slug.translate(table)}-{_digest(str(copy), iri, length=12)}>"
    if iri.startswith(BASE + "statement/"):
        return f"<{BASE}statement/{_digest(str(copy), iri, length=24)}>"
    if iri.startswith(BASE + "doc/"):
        return f"<{iri}{quote(f'-c{copy}', safe='')}>"
    return term


def copy_nquads(text: str, copy: int) -> str:
    """Return a document file (header and N-Quads) as copy `copy` of it: names rotated, IRIs renamed."""
    if copy == 0:
        return text
    table = rotation(copy)
    lines = []
    for line in text.splitlines(keepends=True):
        if line.startswith(HEADER):
            header = json.loads(line[len(HEADER) :])
            renamed = {"id": copy_id(header["id"], copy), "sha256": _digest(str(copy), header["sha256"], length=64)}
            lines.append(HEADER + json.dumps(renamed, ensure_ascii=False) + "\n")
            continue

        def rename(match: re.Match[str]) -> str:
            term = match.group()
            if term.startswith("<"):
                return _rename_iri(term, copy, table)
            return _rotate_literal(term, table) if term.startswith('"') else term

        lines.append(_TERM.sub(rename, line))
    return "".join(lines)


def copy_passage(passage: dict[str, str], copy: int) -> dict[str, str]:
    """Return a corpus row as copy `copy` of it: id renamed, title and text rotated as the graph's literals."""
    if copy == 0:
        return passage
    table = rotation(copy)
    return {
        "id": copy_id(passage["id"], copy),
        "title": passage.get("title", "").translate(table),
        "text": passage["text"].translate(table),
    }


def document_file(document_id: str) -> str:
    """Return the file name `kgbuild.KnowledgeGraphDir` gives a document's graph."""
    return hashlib.sha256(document_id.encode("utf-8")).hexdigest()[:32] + ".nq"


def make_corpora(kg: Path, corpus: Path, out: Path, sizes: list[int]) -> dict[int, Path]:
    """Write one knowledge-graph directory (documents as links into a pool) and corpus per size; return them."""
    passages = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    sources = {p["id"]: kg / "documents" / document_file(p["id"]) for p in passages}
    missing = [i for i, path in sources.items() if not path.is_file()]
    if missing:
        raise SystemExit(f"{kg}: no document graph for {len(missing)} passages, first {missing[0]!r}")
    pool = out / "pool"
    made: dict[int, Path] = {}
    for size in sorted(sizes):
        target = out / f"n{size}"
        shutil.rmtree(target, ignore_errors=True)
        (target / "documents").mkdir(parents=True)
        shutil.copy(kg / "resolution.json", target / "resolution.json")
        with (target / "corpus.jsonl").open("w", encoding="utf-8") as rows:
            for position in range(size):
                copy, passage = divmod(position, len(passages))
                row = copy_passage(passages[passage], copy)
                pooled = pool / f"c{copy}" / document_file(row["id"])
                if not pooled.is_file():
                    pooled.parent.mkdir(parents=True, exist_ok=True)
                    text = sources[passages[passage]["id"]].read_text(encoding="utf-8")
                    pooled.write_text(copy_nquads(text, copy), encoding="utf-8")
                (target / "documents" / pooled.name).symlink_to(pooled.resolve())
                rows.write(json.dumps(row, ensure_ascii=False) + "\n")
        made[size] = target
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kg", type=Path, required=True, help="an extracted knowledge-graph directory (read only)")
    parser.add_argument("--corpus", type=Path, required=True, help="its corpus (JSON Lines: id, title, text)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 4000, 8000, 16000])
    args = parser.parse_args()
    for size, path in make_corpora(args.kg, args.corpus, args.out, args.sizes).items():
        print(size, path)


if __name__ == "__main__":
    main()
