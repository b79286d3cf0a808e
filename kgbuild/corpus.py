"""Read a corpus: a folder of ``.txt``/``.md`` files, a JSON Lines file or a CSV file.

Document ids are stable: a file's path relative to the folder, or the id field of a row (the
row number where a row has none). A document that cannot be read is reported and skipped.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kgbuild.errors import InputTextError
from kgbuild.records import Document

TEXT_SUFFIXES = (".txt", ".md")


@dataclass(frozen=True, slots=True)
class CorpusProblem:
    """A document that could not be read: where it is and why."""

    source: str
    reason: str


@dataclass(frozen=True, slots=True)
class Fields:
    """Names of the id, text and title fields of JSONL and CSV rows."""

    id: str = "id"
    text: str = "text"
    title: str = "title"


def decode_text(raw: bytes, source: str) -> str:
    """Decode UTF-8 (a BOM is dropped) or raise `InputTextError` naming `source`."""
    try:
        return _decode(raw)
    except ValueError as error:
        raise InputTextError(f"{source}: {error}") from error


def _decode(raw: bytes) -> str:
    """Decode UTF-8 (a BOM is dropped) or raise ValueError saying where it stops being UTF-8."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"not UTF-8 (byte {error.start})") from None


def read_corpus(path: str | Path, fields: Fields = Fields()) -> Iterator[Document | CorpusProblem]:
    """Yield the documents of a corpus, and a `CorpusProblem` for each one that cannot be read.

    Raises:
        InputTextError: `path` does not exist or is not a readable corpus at all.

    """
    root = Path(path)
    if root.is_dir():
        yield from _read_folder(root)
    elif root.suffix in (".jsonl", ".ndjson"):
        yield from _read_jsonl(root, fields)
    elif root.suffix == ".csv":
        yield from _read_csv(root, fields)
    elif root.suffix in TEXT_SUFFIXES:
        yield from _read_folder_file(root, root.parent)
    elif not root.exists():
        raise InputTextError(f"{root}: no such file or folder")
    else:
        raise InputTextError(f"{root}: not a corpus (a folder of .txt/.md, a .jsonl or a .csv file)")


def _read_folder(root: Path) -> Iterator[Document | CorpusProblem]:
    for file in sorted(p for p in root.rglob("*") if p.suffix in TEXT_SUFFIXES and p.is_file()):
        yield from _read_folder_file(file, root)


def _read_folder_file(file: Path, root: Path) -> Iterator[Document | CorpusProblem]:
    doc_id = file.relative_to(root).as_posix()
    try:
        text = _decode(file.read_bytes())
    except OSError as error:
        yield CorpusProblem(str(file), f"cannot read ({error.strerror})")
        return
    except ValueError as error:  # the problem's source names the file: the reason does not repeat it
        yield CorpusProblem(str(file), str(error))
        return
    if not text.strip():
        yield CorpusProblem(str(file), "empty text")
        return
    yield Document(doc_id, text, title=file.stem)


def _read_jsonl(file: Path, fields: Fields) -> Iterator[Document | CorpusProblem]:
    try:
        raw = file.read_bytes()
    except OSError as error:
        raise InputTextError(f"{file}: cannot read ({error.strerror})") from error
    for number, line in enumerate(raw.splitlines(), start=1):
        source = f"{file}:{number}"
        if not line.strip():
            continue
        try:
            row = json.loads(_decode(line))
            if not isinstance(row, dict):
                raise ValueError("a row must be a JSON object")
            yield _document(row, fields, source, default_id=str(number))
        except ValueError as error:
            yield CorpusProblem(source, str(error))


def _read_csv(file: Path, fields: Fields) -> Iterator[Document | CorpusProblem]:
    try:
        text = decode_text(file.read_bytes(), str(file))
    except OSError as error:
        raise InputTextError(f"{file}: cannot read ({error.strerror})") from error
    # A quoted field may hold line breaks: the reader gets the text whole, not split into lines.
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None or fields.text not in reader.fieldnames:
        raise InputTextError(f"{file}: no {fields.text!r} column (columns: {reader.fieldnames})")
    line = reader.line_num + 1  # where the next row starts
    for number, row in enumerate(reader, start=1):
        try:
            yield _document(row, fields, f"{file}:{line}", default_id=str(number))
        except ValueError as error:
            yield CorpusProblem(f"{file}:{line}", str(error))
        line = reader.line_num + 1


def _document(row: dict[str, object], fields: Fields, source: str, default_id: str) -> Document:
    text = row.get(fields.text)
    if not isinstance(text, str):
        raise ValueError(f"no {fields.text!r} text field")
    if not text.strip():
        raise ValueError("empty text")
    doc_id = str(row.get(fields.id) or default_id)
    title = str(row.get(fields.title) or "")
    skip = {fields.id, fields.text, fields.title}
    metadata = tuple(sorted((str(k), str(v)) for k, v in row.items() if k not in skip and v is not None))
    return Document(doc_id, text, title, metadata)
