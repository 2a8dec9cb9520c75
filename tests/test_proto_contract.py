"""The partner wire contract: committed stubs are fresh, ``buf lint`` is clean offline, and no
answer message has a field able to carry stored data."""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import FieldDescriptor

from matcher._proto import generate
from matcher._proto.prum.v1 import capabilities_pb2, common_pb2, dna_pb2, finger_pb2, vehicle_pb2

ROOT = Path(__file__).resolve().parents[1]
PROTO = ROOT / "proto"
FILES = [common_pb2.DESCRIPTOR, dna_pb2.DESCRIPTOR, finger_pb2.DESCRIPTOR,
         vehicle_pb2.DESCRIPTOR, capabilities_pb2.DESCRIPTOR]

# ---------------------------------------------------------------------- stale stubs


def _differences(fresh: Path, committed: Path) -> list[str]:
    names = {p.name for p in fresh.iterdir()} | {
        p.name for p in committed.iterdir() if p.is_file() and generate.owned(p.name)}
    return sorted(n for n in names if not (fresh / n).is_file() or not (committed / n).is_file()
                  or (fresh / n).read_bytes() != (committed / n).read_bytes())


def test_committed_stubs_match_a_fresh_generation(tmp_path):
    generate.write(generate.render(), tmp_path)
    stale = _differences(tmp_path, generate.OUTPUT_DIR)
    assert not stale, (f"stale generated stubs in {generate.OUTPUT_DIR}: {', '.join(stale)}; "
                       "run `python -m matcher._proto.generate` and commit the result")


def test_generation_is_deterministic_and_imports_are_rewritten():
    first, second = generate.render(), generate.render()
    assert first == second
    assert {"dna_pb2.py", "dna_pb2.pyi", "dna_pb2_grpc.py", "common_pb2.py"} <= set(first)
    assert "common_pb2_grpc.py" not in first          # no service, no empty grpc module
    for name, content in first.items():
        assert b"from prum.v1 import" not in content, name
        assert re.search(rb"'prum\.v1\.\w+_pb2'", content) is None, name
    assert dna_pb2.DnaHit.__module__ == "matcher._proto.prum.v1.dna_pb2"


def test_every_committed_stub_imports_with_the_installed_protobuf_and_grpc():
    modules = sorted(p.stem for p in generate.OUTPUT_DIR.glob("*_pb2*.py"))
    assert len(modules) == 9    # 5 files x _pb2, and _pb2_grpc for the 4 with a service
    for name in modules:
        module = importlib.import_module(f"matcher._proto.prum.v1.{name}")
        assert name.endswith("_grpc") or module.DESCRIPTOR.package == "prum.v1"


def test_staleness_check_names_an_edited_and_an_orphaned_file(tmp_path):
    shutil.copytree(generate.OUTPUT_DIR, tmp_path / "v1", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "v1" / "vehicle_pb2.pyi").write_text("# edited by hand\n")
    (tmp_path / "v1" / "gone_pb2.py").write_text("# from a deleted .proto\n")
    fresh = tmp_path / "fresh"
    generate.write(generate.render(), fresh)
    assert _differences(fresh, tmp_path / "v1") == ["gone_pb2.py", "vehicle_pb2.pyi"]
    assert generate.stale(generate.render(), tmp_path / "v1") == ["gone_pb2.py", "vehicle_pb2.pyi"]


# ---------------------------------------------------------------------------- buf lint


def _buf() -> str:
    """The buf binary of the buf-bin package: beside the interpreter (venv), else on PATH."""
    beside = Path(sys.executable).parent / "buf"
    found = str(beside) if beside.is_file() and os.access(beside, os.X_OK) else shutil.which("buf")
    if found is None:
        pytest.fail("buf not found beside the interpreter or on PATH: pip install -e '.[test]'")
    return found


def _lint(module: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    # No network: a proxy nobody listens on makes any attempt to reach a registry fail.
    env = {**os.environ, "BUF_CACHE_DIR": str(tmp_path / "buf-cache"),
           "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
           "NO_PROXY": ""}
    return subprocess.run([_buf(), "lint", str(module), "--error-format", "json"],
                          capture_output=True, text=True, env=env, timeout=120)


def test_buf_lint_is_clean_offline(tmp_path):
    config = (PROTO / "buf.yaml").read_text()
    assert "deps:" not in config and not (PROTO / "buf.lock").exists(), \
        "the contract must lint and build without fetching remote modules"
    result = _lint(PROTO, tmp_path)
    assert result.returncode == 0 and not result.stdout.strip(), \
        f"buf lint findings:\n{result.stdout}{result.stderr}"


def test_buf_lint_reports_a_finding(tmp_path):
    shutil.copytree(PROTO, tmp_path / "proto")
    with open(tmp_path / "proto" / "prum" / "v1" / "vehicle.proto", "a") as fh:
        fh.write("\n// An enum without its zero value named *_UNSPECIFIED.\n"
                 "enum Colour {\n  // Red.\n  RED = 0;\n}\n")
    result = _lint(tmp_path / "proto", tmp_path)
    assert result.returncode != 0 and "ENUM_ZERO_VALUE_SUFFIX" in result.stdout


# ------------------------------------------------------------------- no stored data out

#: Every field an answer may carry, reviewed: each names a stored record only by reference
#: or carries counts, scores, flags, ids, partner codes, times or node settings.  A new field
#: reachable from a response fails the test until it is reviewed and listed here.
REVIEWED_ANSWER_FIELDS = {
    "AnswerHeader": "request_id answer_id partner received_at answered_at",
    "google.protobuf.Timestamp": "seconds nanos",
    "SearchDnaResponse": "header answers",
    # Bulk comparison batches answer with SearchDna's DnaAnswer, plus the caller's own budget.
    "CompareDnaResponse": "header answers daily_profile_quota profiles_used_today",
    "DnaAnswer": "query hit hits",
    "DnaHit": "reference kind quality matching_loci compared_loci mismatches rmp "
              "likelihood_ratio expected_adventitious rmp_loci",
    "SearchFingerResponse": "header answers",
    "FingerAnswer": "query hit candidates",
    "FingerCandidate": "reference kind position score hit",
    "LookupVehicleResponse": "header answers",
    "VehicleAnswer": "query hit hits",
    "VehicleHit": "reference matched_on tolerant",
    "GetCapabilitiesResponse": "header caller_partner grants dna_loci max_message_bytes "
                               "dna_min_designated_loci dna_min_matching_loci dna_max_mismatches",
    "CategoryGrant": "category daily_quota used_today max_queries_per_request "
                     "finger_candidate_limit latent_daily_quota latent_used_today "
                     "bulk_daily_quota bulk_used_today",
}
#: Name fragments of fields that hold record data (profiles, templates, vehicle keys).
FORBIDDEN_FRAGMENTS = ("loci", "locus", "allele", "template", "minuti", "point", "finger",
                       "vin", "plate", "holder", "owner", "profile", "country", "image")
CARRIERS = {FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES, FieldDescriptor.TYPE_MESSAGE}
QUERY_SIDE = {"prum.v1.DnaQuery", "prum.v1.Alleles", "prum.v1.FingerImpression",
              "prum.v1.Minutiae", "prum.v1.Minutia", "prum.v1.VehicleQuery"}


def _short(message) -> str:
    return message.full_name.removeprefix("prum.v1.")


def _reachable_from_responses(files) -> dict:
    seen: dict[str, object] = {}
    todo = [method.output_type for f in files for service in f.services_by_name.values()
            for method in service.methods]
    while todo:
        message = todo.pop()
        if message.full_name not in seen:
            seen[message.full_name] = message
            todo.extend(f.message_type for f in message.fields if f.message_type is not None)
    return seen


def answer_problems(files) -> list[str]:
    """Every way the answer side of ``files`` could carry stored data or changed unreviewed."""
    problems = []
    reachable = _reachable_from_responses(files)
    answer_like = {m.full_name: m for f in files for m in f.message_types_by_name.values()
                   if m.name.endswith(("Answer", "Hit", "Candidate"))}
    for name, message in {**reachable, **answer_like}.items():
        reviewed = set(REVIEWED_ANSWER_FIELDS.get(_short(message), "").split())
        for field in message.fields:
            where = f"{_short(message)}.{field.name}"
            if name not in reachable:
                problems.append(f"{where}: answer-like message not reachable from a response")
            if field.name not in reviewed:
                problems.append(f"{where}: not a reviewed answer field")
            # Numbers, flags and enums are counts and classes (matching_loci); text, bytes
            # and messages could hold the data itself.
            if message.name.endswith(("Answer", "Hit", "Candidate")) and field.type in CARRIERS \
                    and any(part in field.name for part in FORBIDDEN_FRAGMENTS):
                problems.append(f"{where}: its name says it holds record data")
            if field.type == FieldDescriptor.TYPE_BYTES:
                problems.append(f"{where}: bytes can carry a template or a profile")
            if field.message_type is not None and field.message_type.full_name in QUERY_SIDE:
                problems.append(f"{where}: carries query data ({field.message_type.name})")
    return problems


def test_answers_have_no_field_able_to_carry_stored_data():
    assert answer_problems(FILES) == []
    reachable = {_short(m) for m in _reachable_from_responses(FILES).values()}
    assert reachable == set(REVIEWED_ANSWER_FIELDS)


def test_a_vin_added_to_a_vehicle_hit_is_caught():
    pool = descriptor_pool.DescriptorPool()
    for module in (common_pb2.DESCRIPTOR.dependencies[0], common_pb2.DESCRIPTOR):
        proto = descriptor_pb2.FileDescriptorProto()
        module.CopyToProto(proto)
        pool.Add(proto)
    proto = descriptor_pb2.FileDescriptorProto()
    vehicle_pb2.DESCRIPTOR.CopyToProto(proto)
    hit = next(m for m in proto.message_type if m.name == "VehicleHit")
    hit.field.add(name="vin", number=4, type=FieldDescriptor.TYPE_STRING,
                  label=FieldDescriptor.LABEL_OPTIONAL)
    hit.field.add(name="record", number=5, type=FieldDescriptor.TYPE_MESSAGE,
                  label=FieldDescriptor.LABEL_OPTIONAL, type_name=".prum.v1.VehicleQuery")
    pool.Add(proto)
    problems = answer_problems([pool.FindFileByName("prum/v1/vehicle.proto")])
    assert "VehicleHit.vin: its name says it holds record data" in problems
    assert "VehicleHit.vin: not a reviewed answer field" in problems
    assert "VehicleHit.record: carries query data (VehicleQuery)" in problems


def test_every_enum_starts_with_its_unspecified_zero():
    for file in FILES:
        for enum in file.enum_types_by_name.values():
            zero = enum.values_by_number[0].name
            prefix = "".join(f"_{c}" if c.isupper() else c.upper() for c in enum.name)[1:]
            assert zero == f"{prefix}_UNSPECIFIED", enum.full_name
