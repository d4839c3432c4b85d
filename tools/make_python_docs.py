"""Make ``minigrad/data/python_docs.txt.xz``, the pinned text corpus behind ``minigrad.datasets.python_docs``.

CPython ships the help topics of its reference manual (what ``help("assert")`` prints) as a dict in
``Lib/pydoc_data/topics.py``. That dict changes with every Python release, so the course does not read it at
run time: this script took it once, from CPython 3.11.7, and the package ships the result.

The text is the 79 topics' texts in sorted order of their keys, joined by ``"\\n\\n"``. Every topic already
begins with its own title line (underlined with ``*``) and ends with a newline, so topics are separated by
two blank lines. Nothing else is added or changed. The result is compressed with lzma (xz container,
preset 9 extreme).

Usage (with Python 3.11.7)::

    python tools/make_python_docs.py           # write the file, print its numbers
    python tools/make_python_docs.py --check   # compare the shipped file's text with this Python's topics

The printed SHA-256 is ``PYTHON_DOCS_SHA256`` in ``minigrad/datasets.py``. The licence notice beside the file
(``PYTHON_DOCS_LICENSE.txt``) is written by hand.
"""

from __future__ import annotations

import argparse
import hashlib
import lzma
import sys
from pathlib import Path

PINNED_PYTHON = (3, 11, 7)
OUTPUT = Path(__file__).resolve().parent.parent / "minigrad" / "data" / "python_docs.txt.xz"


def python_docs_text() -> str:
    """This interpreter's help topics, joined as described at the top of this file."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[key] for key in sorted(topics))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare the shipped file's text with this Python's topics; write nothing")
    args = parser.parse_args()
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:3] != PINNED_PYTHON:
        print(f"This is Python {version}; the snapshot is pinned to {'.'.join(map(str, PINNED_PYTHON))}, "
              "whose help topics differ from other releases'. Run it with that Python.", file=sys.stderr)
        return 1
    text = python_docs_text()
    if args.check:
        shipped = lzma.decompress(OUTPUT.read_bytes()).decode("utf-8")
        same = shipped == text
        print(f"{OUTPUT.name} has the same text as Python {version}'s pydoc_data.topics: {same}")
        return 0 if same else 1
    compressed = lzma.compress(text.encode("utf-8"), format=lzma.FORMAT_XZ,
                               preset=9 | lzma.PRESET_EXTREME)
    OUTPUT.write_bytes(compressed)
    n = len(text)
    print(f"wrote {OUTPUT} ({len(compressed):,} bytes)")
    print(f"characters: {n:,}, distinct: {len(set(text))}, UTF-8 bytes: {len(text.encode('utf-8')):,}")
    print(f"val (last n // 10): {n // 10:,} characters, train: {n - n // 10:,}")
    print(f"SHA-256 of the UTF-8 text: {hashlib.sha256(text.encode('utf-8')).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
