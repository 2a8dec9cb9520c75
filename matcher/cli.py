"""The ``matcher`` command line.  Exit status: 0 all good; 1 some input rejected (the valid
rest was stored or answered; each rejection is one JSON line on stderr); 2 usage or
environment error (bad arguments, missing home or file)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A problem with the command itself or its environment: exit status 2."""


def _emit(obj: dict, stream=None) -> None:
    stream = stream or sys.stdout
    stream.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")


def _open(home: str):
    from matcher.home import HomeError, open_home
    from matcher.store import StoreError
    try:
        return open_home(home, create=False)
    except (HomeError, StoreError) as exc:
        raise UsageError(str(exc)) from exc


def _cmd_init(args) -> int:
    from matcher.home import HomeError, init_home
    try:
        path = init_home(args.home, partner=args.partner)
    except HomeError as exc:
        raise UsageError(str(exc)) from exc
    _emit({"home": str(path), "partner": args.partner})
    return EXIT_OK


def _check_files(files: list[str]) -> list[Path]:
    paths = [Path(f) for f in files]
    for path in paths:
        if not path.is_file():
            raise UsageError(f"{path}: no such file")
    return paths


def _reader(category: str, kind: str | None):
    """Input reader of a category: DNA also takes GeneMapper CSV, fingers JSON Lines."""
    if category == "dna":
        from matcher.dna.formats import read_records
        return lambda path: read_records(path, default_kind=kind)
    from matcher.records import read_jsonl

    def read(path):
        with open(path, "rb") as stream:
            yield from read_jsonl(stream)
    return read


def _cmd_add(args) -> int:
    from matcher._progress import Progress, count_lines
    paths = _check_files(args.files)
    read = _reader(args.category, getattr(args, "kind", None))
    rejected = added = replaced = 0
    generation = None
    with _open(args.home) as home:
        database = getattr(home, args.category)
        for path in paths:
            progress = Progress(f"adding {path.name}", None)
            if progress.enabled:
                progress.total = count_lines(path)
            report = database.add_raw(read(path), progress=progress)
            progress.close()
            for entry in report.rejected:
                _emit({"file": str(path), **entry}, sys.stderr)
            rejected += len(report.rejected)
            added += report.added
            replaced += report.replaced
            generation = report.generation
    _emit({"added": added, "replaced": replaced, "rejected": rejected, "generation": generation})
    return EXIT_REJECTED if rejected else EXIT_OK


def _cmd_search(args) -> int:
    if args.queries == "-":  # queries on standard input
        from matcher.records import read_jsonl
        path, raws = Path("<stdin>"), list(read_jsonl(sys.stdin.buffer))
    else:
        path = _check_files([args.queries])[0]
        raws = list(_reader(args.category, None)(path))
    failed = 0
    with _open(args.home) as home:
        whole_file = [r for r in raws if r.line == 0]
        for raw in whole_file:
            _emit({"file": str(path), "line": 0, "reference": None, "reasons": [raw.error]}, sys.stderr)
        options = {"familial": True} if getattr(args, "familial", False) else {}
        answers = getattr(home, args.category).search_raw((r for r in raws if r.line != 0),
                                                          **options)
    for answer in answers:
        line = answer.pop("line", None)
        if "error" in answer:
            failed += 1
            _emit({"file": str(path), "line": line, "reference": answer["query"],
                   "reasons": [answer["error"]]}, sys.stderr)
        _emit(answer)
    return EXIT_REJECTED if failed or whole_file else EXIT_OK


def _cmd_delete(args) -> int:
    with _open(args.home) as home:
        report = getattr(home, args.category).delete(args.references)
    for reference in report.not_found:
        _emit({"line": None, "reference": reference, "reasons": ["reference: not found"]}, sys.stderr)
    _emit({"deleted": report.deleted, "not_found": report.not_found, "generation": report.generation})
    return EXIT_REJECTED if report.not_found else EXIT_OK


def _cmd_stats(args) -> int:
    with _open(args.home) as home:
        stats = getattr(home, args.category).stats()
    print(json.dumps(stats, indent=2, ensure_ascii=False))
    return EXIT_OK


def _cmd_demo(args) -> int:
    if args.local:
        from matcher.demo import run_demo
        return run_demo(profiles=args.profiles or 200_000, queries=args.queries, workdir=args.dir)
    from matcher.demo_network import run_network_demo
    from matcher.demo_partners import DemoSize
    return run_network_demo(DemoSize(profiles=args.profiles or DemoSize.profiles),
                            workdir=args.dir)


def _category(sub, category: str, title: str, noun: str, sources: str, stats_help: str) -> dict:
    """add|search|delete|stats|synth subcommands of one category, all with the same shapes."""
    commands = sub.add_parser(category, help=title).add_subparsers(
        dest=f"{category}_command", required=True)
    made = {"_sub": commands}
    for name, text, extra in (
            ("add", f"store {noun} from {sources}", ("files", "+", "FILE")),
            ("search", "search; one JSON answer line per query, input order ('-': stdin)",
             ("queries", None, "QUERIES.jsonl")),
            ("delete", f"delete {noun} by reference", ("references", "+", "REFERENCE")),
            ("stats", stats_help, None)):
        command = commands.add_parser(name, help=text)
        command.add_argument("home")
        if extra:
            dest, nargs, metavar = extra
            command.add_argument(dest, nargs=nargs, metavar=metavar)
        handler = {"add": _cmd_add, "search": _cmd_search, "delete": _cmd_delete,
                   "stats": _cmd_stats}[name]
        command.set_defaults(handler=handler, category=category)
        made[name] = command
    # synth owns its options; main() hands it the rest of the command line
    made["synth"] = commands.add_parser("synth", help=f"synthetic {noun} (see its --help)",
                                        add_help=False)
    return made


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="matcher", description=__doc__.split(".")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    init = sub.add_parser("init", help="create a home folder (config, store)")
    init.add_argument("home")
    init.add_argument("--partner", default="XX", help="this node's partner code, e.g. NL")
    init.set_defaults(handler=_cmd_init)

    dna = _category(sub, "dna", "DNA profiles", "profiles",
                    "JSON Lines or GeneMapper CSV files", "counts, locus coverage, index memory")
    dna["add"].add_argument("--kind", choices=("person", "stain"), default="stain",
                            help="kind of CSV samples when the file has no Kind column (default: "
                                 "stain, i.e. unidentified; a person profile claims an identity, "
                                 "so say --kind person explicitly)")
    from matcher.dna import compare_cli
    compare = dna["_sub"].add_parser("compare", help=compare_cli.HELP)
    compare_cli.add_compare_arguments(compare)
    compare.set_defaults(handler=compare_cli.run_compare)
    dna["search"].add_argument("--familial", action="store_true",
                               help="also list likely relatives of each query (sibling and "
                                    "parent-child kinship index at or above the home's "
                                    "dna.familial_threshold)")
    finger = _category(sub, "finger", "fingerprints", "fingerprint records", "JSON Lines files",
                       "counts of records and enrolled fingers")
    finger["inspect"] = finger["_sub"].add_parser(
        "inspect", help="print a parsed ISO/ANSI minutiae record as JSON", add_help=False)
    _category(sub, "vehicle", "vehicle registrations", "registrations", "JSON Lines files",
              "counts and index memory")

    _service_commands(sub)

    demo = sub.add_parser("demo", help="three partner nodes (NL, DE, BE) on loopback asking "
                                       "each other; --local: one national DNA database")
    demo.add_argument("--local", action="store_true",
                      help="the single-home demo: load and search one national database")
    demo.add_argument("--profiles", type=int, default=None,
                      help="DNA profiles per state (default 30,000; --local: 200,000)")
    demo.add_argument("--queries", type=int, default=1_000, help="--local: DNA queries")
    demo.add_argument("--dir", default=None, help="work folder (default: a temporary one)")
    demo.set_defaults(handler=_cmd_demo)
    return parser


def _service_commands(sub) -> None:
    """Partner service commands: certificates and the audit log (stdlib only at import)."""
    from matcher.service import cli_admin as admin
    certs = sub.add_parser("certs", help=admin.CERTS_HELP, description=admin.CERTS_DESCRIPTION)
    admin.add_certs_arguments(certs)
    certs.set_defaults(handler=admin.run_certs)
    audit = sub.add_parser("audit", help=admin.AUDIT_HELP, description=admin.AUDIT_DESCRIPTION)
    admin.add_audit_arguments(audit)
    audit.set_defaults(handler=admin.run_audit)
    from matcher.service import cli_service
    cli_service.add_arguments(sub)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        return _dispatch(argv)
    except BrokenPipeError:  # e.g. `matcher ... | head`: the reader left, nothing to report
        sys.stderr.close()
        return EXIT_OK


def _dispatch(argv: list[str]) -> int:
    # These subcommands own their options (see their --help).
    if argv[:2] == ["dna", "synth"]:
        from matcher.dna.synth import synth_main
        return synth_main(argv[2:])
    if argv[:2] == ["finger", "synth"]:
        from matcher.finger.synth import synth_main as finger_synth_main
        return finger_synth_main(argv[2:])
    if argv[:2] == ["vehicle", "synth"]:
        from matcher.vehicle.synth import synth_main as vehicle_synth_main
        return vehicle_synth_main(argv[2:])
    if argv[:2] == ["finger", "inspect"]:
        from matcher.finger.templates import inspect_main
        return inspect_main(argv[2:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except UsageError as exc:
        print(f"matcher: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("matcher: interrupted; everything acknowledged before this is stored", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
