"""Regenerate the committed Python stubs of the partner wire contract (``proto/prum/v1``).

    python -m matcher._proto.generate            # rewrite matcher/_proto/prum/v1/
    python -m matcher._proto.generate --check    # write nothing; exit 1 naming stale files

Runs ``grpc_tools.protoc`` (grpcio-tools, the ``test`` extra) on every ``proto/prum/v1/*.proto``
with the well-known types bundled in grpc_tools, producing ``*_pb2.py``, ``*_pb2.pyi`` and, for
files that define a service, ``*_pb2_grpc.py``.  protoc writes imports for a top-level
``prum.v1`` package (``from prum.v1 import common_pb2``); they are rewritten to
``matcher._proto.prum.v1`` so the stubs live inside our package and never shadow or collide
with another project's ``prum`` package.  The output depends only on the .proto files and the
grpcio-tools version: same input, same bytes (the staleness test relies on it).
"""

from __future__ import annotations

import argparse
import importlib.resources
import re
import sys
import tempfile
from pathlib import Path

#: The buf module root: files sit at ``prum/v1/<name>.proto`` under it.
PROTO_ROOT = Path(__file__).resolve().parents[2] / "proto"
#: Where the generated modules are committed.
OUTPUT_DIR = Path(__file__).resolve().parent / "prum" / "v1"
PROTO_PACKAGE_DIR = "prum/v1"
#: The importable name of the generated ``prum.v1`` package.
TARGET_PACKAGE = "matcher._proto.prum.v1"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")
INIT_TEXT = ('"""Generated protobuf and gRPC stubs of package prum.v1 (proto/prum/v1/*.proto).\n\n'
             'Do not edit: regenerate with ``python -m matcher._proto.generate``.\n"""\n')

# protoc's import lines: `from prum.v1 import x_pb2 as ...` (.py, .pyi, _grpc.py) and the
# module name handed to the message builder, which becomes each class's __module__.
_IMPORT = re.compile(r"^from prum\.v1 import ", re.MULTILINE)
_MODULE_NAME = re.compile(r"'prum\.v1\.(\w+_pb2)'")


class GenerationError(RuntimeError):
    """protoc failed or is missing; the message says what to install or fix."""


def proto_files(proto_root: Path = PROTO_ROOT) -> list[Path]:
    """The contract's .proto files, sorted so protoc sees them in a fixed order."""
    files = sorted((proto_root / PROTO_PACKAGE_DIR).glob("*.proto"))
    if not files:
        raise GenerationError(f"{proto_root / PROTO_PACKAGE_DIR}: no .proto files")
    return files


def rewrite(text: str) -> str:
    """One generated file's text with ``prum.v1`` imports moved under ``matcher._proto``."""
    text = _IMPORT.sub(f"from {TARGET_PACKAGE} import ", text)
    return _MODULE_NAME.sub(lambda m: f"'{TARGET_PACKAGE}.{m.group(1)}'", text)


def render(proto_root: Path = PROTO_ROOT) -> dict[str, bytes]:
    """File name -> content of everything the generator owns in ``prum/v1`` (the stubs and
    the package ``__init__.py``).  Raises GenerationError when protoc fails."""
    try:
        from grpc_tools import protoc
    except ImportError as exc:
        raise GenerationError("grpcio-tools is not installed: pip install -e '.[test]'") from exc
    includes = importlib.resources.files("grpc_tools") / "_proto"
    with tempfile.TemporaryDirectory(prefix="prum-proto-") as tmp:
        args = ["grpc_tools.protoc", f"--proto_path={proto_root}", f"--proto_path={includes}",
                f"--python_out={tmp}", f"--pyi_out={tmp}", f"--grpc_python_out={tmp}",
                *(str(p) for p in proto_files(proto_root))]
        status = protoc.main(args)
        if status != 0:
            raise GenerationError(f"protoc exited with status {status} (its message is above)")
        out = Path(tmp) / PROTO_PACKAGE_DIR
        files = {"__init__.py": INIT_TEXT.encode()}
        for path in sorted(out.iterdir()):
            text = path.read_text(encoding="utf-8")
            if path.name.endswith("_pb2_grpc.py") and "\nclass " not in text:
                continue  # a file without services: protoc still writes an empty grpc module
            files[path.name] = rewrite(text).encode("utf-8")
    return files


def owned(name: str) -> bool:
    """True for a file name in the output folder that the generator writes and may delete."""
    return name == "__init__.py" or name.endswith(GENERATED_SUFFIXES)


def stale(files: dict[str, bytes], out_dir: Path = OUTPUT_DIR) -> list[str]:
    """Names of the files in ``out_dir`` that differ from ``files``, are missing, or are
    generated files no .proto produces any more; sorted."""
    present = {p.name for p in out_dir.iterdir() if p.is_file() and owned(p.name)} \
        if out_dir.is_dir() else set()
    names = set(files) | present
    return sorted(n for n in names
                  if n not in files or n not in present or (out_dir / n).read_bytes() != files[n])


def write(files: dict[str, bytes], out_dir: Path = OUTPUT_DIR) -> list[str]:
    """Bring ``out_dir`` to ``files``: write what changed, delete orphaned generated files.
    Returns the names changed."""
    changed = stale(files, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in changed:
        if name in files:
            (out_dir / name).write_bytes(files[name])
        else:
            (out_dir / name).unlink()
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m matcher._proto.generate",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a committed stub is stale")
    parser.add_argument("--out", type=Path, default=OUTPUT_DIR,
                        help=f"output folder (default {OUTPUT_DIR})")
    args = parser.parse_args(argv)
    try:
        files = render()
    except GenerationError as exc:
        print(f"generate: {exc}", file=sys.stderr)
        return 2
    if args.check:
        names = stale(files, args.out)
        for name in names:
            print(f"stale: {args.out / name}", file=sys.stderr)
        return 1 if names else 0
    for name in write(files, args.out):
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
