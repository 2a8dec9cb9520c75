"""Finger minutiae template codecs (matcher.finger.templates).

Conformance against the shared FingerprintIO samples and their ground truth, byte-identical
write/read round trips (samples and hypothesis-generated records in every format), a fuzz
test that only ever sees a record or a TemplateError, the bad inputs the issue lists, the
JSON finger form and ``matcher finger inspect``.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import pickle
import signal
from dataclasses import asdict, replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from matcher._fixtures import fixtures_path
from matcher.finger.model import MAX_MINUTIAE, MINUTIA_TYPES, POSITION_NAMES, Finger, Minutia
from matcher.finger.templates import (
    FORMATS, CaptureTime, CertificationBlock, ExtendedBlock, QualityBlock, TemplateError,
    TemplateRecord, ViewDetail, detect_format, finger_from_json, finger_to_json, inspect_main,
    read_template, template_to_json, write_template,
)

SAMPLES = {
    "iso19794p2v2005-sample": "iso19794-2:2005",
    "iso19794p2v2011-sample": "iso19794-2:2011",
    "ansi378v2004-sample": "ansi378-2004",
    "ansi378v2009-sample": "ansi378-2009",
}
ISO = "iso19794p2v2005-sample"
ISO_UNIT, ANSI_UNIT = 360 / 256, 2.0
#: FingerprintIO's enum names, mapped to the codes the standards store.
SCAN_TYPES = {"LIVE_PLAIN": 0, "LIVE_ROLLED": 1, "NONLIVE_PLAIN": 2, "NONLIVE_ROLLED": 3,
              "SWIPE": 8}
MINUTIA_TYPE_NAMES = {"ENDING": "ending", "BIFURCATION": "bifurcation", "OTHER": "other",
                      "EITHER": "other"}   # ANSI 2009 calls code 0 "either"
SENSOR_TYPES = {"UNKNOWN": 0}
ENDING_TYPES = {"VALLEY_SKELETON_BIFURCATION": 0}
RIDGE_COUNT_TYPES = {"CUSTOM": 0, "QUADRANTS": 1, "OCTANTS": 2}
#: Per-example guard against a hang, beyond hypothesis' deadline (which only reports late).
HANG_GUARD_SECONDS = 5.0
FUZZ_SETTINGS = settings(max_examples=300, deadline=timedelta(milliseconds=500),
                         derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def sample_bytes(name: str) -> bytes:
    return fixtures_path("fingerprint-templates", f"{name}.dat").read_bytes()


def sample_truth(name: str) -> dict:
    return json.loads(fixtures_path("fingerprint-templates", f"{name}.json").read_text())


@contextlib.contextmanager
def hang_guard(seconds: float = HANG_GUARD_SECONDS):
    def expire(signum, frame):
        raise TimeoutError(f"template reader ran longer than {seconds} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- conformance: every sample parses to exactly its ground truth ---------------------------

def _observed_finger(record: TemplateRecord, index: int, truth: dict) -> dict:
    """The record's values under the ground truth's names, for the keys the truth has."""
    finger, view = record.fingers[index], record.views[index]
    blocks = {block.type: block for block in view.extended}
    ridge = [b for b in template_to_json(record)["fingers"][index]["extended_data"] if b["type"] == 1]
    observed = {
        "position": POSITION_NAMES[finger.position], "view": finger.view,
        "scanType": finger.impression, "quality": finger.quality,
        "qualityVendorId": view.quality_vendor, "qualityAlgorithmId": view.quality_algorithm,
        "width": finger.width, "height": finger.height,
        "resolutionX": view.resolution_x, "resolutionY": view.resolution_y,
        "datetime": asdict(view.capture_time), "sensorType": view.device_technology,
        "sensorVendor": view.device_vendor, "sensorId": view.device_id,
        "qrecords": [{"quality": q.quality, "vendor": q.vendor, "algorithm": q.algorithm}
                     for q in view.quality_blocks],
        "certificates": [{"authority": c.authority, "scheme": c.scheme}
                         for c in view.certification_blocks],
        "endingType": view.ending_type,
        "minutiae": [{"type": m.type, "positionX": m.x, "positionY": m.y, "angle": raw,
                      "quality": m.quality}
                     for m, raw in zip(finger.minutiae, view.raw_angles)],
        "counts": None if not ridge else {
            "type": ridge[0]["ridge_counts"]["method"],
            "edges": [{"from": a, "to": b, "count": c} for a, b, c in ridge[0]["ridge_counts"]["edges"]]},
        "coredelta": None if 2 not in blocks else blocks[2].data,
        "zones": None if 3 not in blocks or record.format.startswith("ansi") else blocks[3].data,
        "extensions": [{"type": b.type, "data": base64.b64encode(b.data).decode()}
                       for b in view.extended if b.type not in (1, 2, 3)],
    }
    unmapped = set(truth) - set(observed)
    assert not unmapped, f"ground-truth fields with no mapping: {sorted(unmapped)}"
    return {key: observed[key] for key in truth}


def _expected_finger(truth: dict) -> dict:
    """The ground truth with FingerprintIO's enum names turned into stored codes."""
    expected = copy.deepcopy(truth)
    expected["scanType"] = SCAN_TYPES[truth["scanType"]]
    for key, names in (("sensorType", SENSOR_TYPES), ("endingType", ENDING_TYPES)):
        if key in truth:
            expected[key] = names[truth[key]]
    for minutia in expected["minutiae"]:
        minutia["type"] = MINUTIA_TYPE_NAMES[minutia["type"]]
    if truth.get("counts"):
        expected["counts"]["type"] = RIDGE_COUNT_TYPES[truth["counts"]["type"]]
    return expected


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_parses_to_its_ground_truth_field_by_field(name):
    record = read_template(sample_bytes(name))
    truth = sample_truth(name)
    assert record.format == SAMPLES[name]
    header = {"vendorId": record.cbeff_owner, "subformat": record.cbeff_type,
              "sensorCertified": record.sensor_certified, "sensorId": record.equipment_id,
              "width": record.width, "height": record.height,
              "resolutionX": record.resolution_x, "resolutionY": record.resolution_y}
    for key, value in truth.items():
        if key != "fingerprints":
            assert header[key] == value, key
    assert len(record.fingers) == len(truth["fingerprints"])
    for index, finger_truth in enumerate(truth["fingerprints"]):
        assert _observed_finger(record, index, finger_truth) == _expected_finger(finger_truth)


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_angles_in_degrees_follow_the_format_unit(name):
    record = read_template(sample_bytes(name))
    unit = ISO_UNIT if record.format.startswith("iso") or record.ansi_angles_in_iso_units else ANSI_UNIT
    for finger, view in zip(record.fingers, record.views):
        assert [m.angle for m in finger.minutiae] == [raw * unit for raw in view.raw_angles]
        assert all(0 <= m.angle < 360 for m in finger.minutiae)


def test_ansi2004_sample_holds_iso_angle_codes_which_the_2009_sample_confirms():
    ansi2004 = read_template(sample_bytes("ansi378v2004-sample"))
    iso2005 = read_template(sample_bytes("iso19794p2v2005-sample"))
    ansi2009 = read_template(sample_bytes("ansi378v2009-sample"))
    assert ansi2004.ansi_angles_in_iso_units and not ansi2009.ansi_angles_in_iso_units
    assert ansi2004.fingers == iso2005.fingers
    # The two codes above ANSI's 179 (213 and 249): ~300 and ~350 degrees in both readings.
    for j in (-2, -1):
        assert abs(ansi2004.fingers[1].minutiae[j].angle - ansi2009.fingers[1].minutiae[j].angle) < 1


def test_sample_quirks_are_tolerated_and_kept():
    ansi2004 = read_template(sample_bytes("ansi378v2004-sample"))
    assert (ansi2004.length_skew, ansi2004.version) == (-2, b"020\0")
    assert read_template(sample_bytes("ansi378v2009-sample")).length_skew == -1
    assert read_template(sample_bytes("iso19794p2v2005-sample")).views[1].block_length_includes_header is False
    assert ansi2004.views[1].block_length_includes_header is True


@pytest.mark.parametrize("name", SAMPLES)
def test_detect_format(name):
    assert detect_format(sample_bytes(name)) == SAMPLES[name]


# --- round trips ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", SAMPLES)
def test_sample_write_read_is_byte_identical(name):
    data = sample_bytes(name)
    assert write_template(read_template(data)) == data


@pytest.mark.parametrize("name", SAMPLES)
@pytest.mark.parametrize("target", FORMATS)
def test_sample_converts_to_every_format(name, target):
    record = read_template(sample_bytes(name))
    data = write_template(record, target)
    again = read_template(data)
    assert again.format == target and write_template(again) == data
    unit = ISO_UNIT if target.startswith("iso") else ANSI_UNIT
    for before, after in zip(record.fingers, again.fingers):
        assert [(m.x, m.y, m.type, m.quality) for m in before.minutiae] == \
               [(m.x, m.y, m.type, m.quality) for m in after.minutiae]
        for m, n in zip(before.minutiae, after.minutiae):
            assert abs((m.angle - n.angle + 180) % 360 - 180) <= unit / 2


def test_ansi2004_long_length_form_round_trips():
    record = read_template(sample_bytes("ansi378v2004-sample"))
    record.long_length_field, record.length_skew = True, 0
    data = write_template(record)
    assert data[8:10] == b"\0\0" and int.from_bytes(data[10:14], "big") == len(data)
    assert detect_format(data) == "ansi378-2004"
    assert write_template(read_template(data)) == data


U8, U16 = st.integers(0, 0xFF), st.integers(0, 0xFFFF)
SIZES, RESOLUTIONS = st.integers(1, 2000), st.integers(1, 1000)


@st.composite
def views_detail(draw, fmt: str, resolution: int, quality: int, size5: bool) -> ViewDetail:
    """Everything a format keeps beside the model, drawn within its field ranges."""
    per_view = fmt in ("iso19794-2:2011", "ansi378-2009")
    return ViewDetail(
        extended=draw(st.lists(st.builds(ExtendedBlock, U16, st.binary(max_size=12)), max_size=3)),
        block_length_includes_header=draw(st.sampled_from([None, True, False])),
        resolution_x=resolution if per_view else 0,
        resolution_y=draw(RESOLUTIONS) if per_view else 0,
        raw_quality=draw(st.sampled_from([None, 254, 255])) if fmt == "ansi378-2009" else None,
        quality_vendor=draw(U16), quality_algorithm=draw(U16),
        capture_time=draw(st.builds(CaptureTime, U16, U8, U8, U8, U8, U8, U16)),
        device_technology=draw(U8), device_vendor=draw(U16), device_id=draw(U16),
        quality_blocks=draw(st.lists(st.builds(QualityBlock, st.just(quality), U16, U16),
                                     max_size=2)),
        certification_blocks=draw(st.lists(st.builds(CertificationBlock, U16, U8), max_size=2)),
        ending_type=draw(st.integers(0, 15)), minutia_record_size=5 if size5 else 6)


@st.composite
def records(draw, fmt: str) -> TemplateRecord:
    """A valid record of ``fmt``: angles on the format's grid, minutiae inside the image."""
    per_view = fmt in ("iso19794-2:2011", "ansi378-2009")
    unit, codes = (ISO_UNIT, 256) if fmt.startswith("iso") else (ANSI_UNIT, 180)
    width, height, resolution = draw(SIZES), draw(SIZES), draw(RESOLUTIONS)
    fingers, views = [], []
    for _ in range(draw(st.integers(1, 4))):
        if per_view:
            width, height, resolution = draw(SIZES), draw(SIZES), draw(RESOLUTIONS)
        size5 = fmt == "iso19794-2:2011" and draw(st.booleans())   # 5-byte: no quality
        minutiae = [Minutia(draw(st.integers(0, width - 1)), draw(st.integers(0, height - 1)),
                            draw(st.integers(0, codes - 1)) * unit,
                            draw(st.sampled_from(MINUTIA_TYPES)),
                            0 if size5 else draw(st.integers(0, 100)))
                    for _ in range(draw(st.integers(1, 12)))]
        quality = draw(st.integers(0, 100))
        fingers.append(Finger(draw(st.integers(0, 10)), minutiae, draw(st.integers(0, 15)),
                              draw(st.integers(0, 15)), quality, width, height,
                              round(resolution * 2.54)))
        views.append(draw(views_detail(fmt, resolution, quality, size5)))
    equipment_ids = st.integers(0, 0xFFFF if fmt == "ansi378-2009" else 0xFFF)
    return TemplateRecord(
        fmt, fingers, views, width, height, resolution, draw(RESOLUTIONS),
        draw(st.integers(0, 15)), draw(equipment_ids), draw(U16), draw(U16),
        draw(st.integers(0, 1)), padding=draw(st.binary(max_size=6)))


#: Header fields each format stores, compared after a round trip.
HEADER_FIELDS = {
    "iso19794-2:2005": ("equipment_compliance", "equipment_id", "width", "height",
                        "resolution_x", "resolution_y"),
    "ansi378-2004": ("equipment_compliance", "equipment_id", "width", "height", "resolution_x",
                     "resolution_y", "cbeff_owner", "cbeff_type"),
    "ansi378-2009": ("equipment_compliance", "equipment_id", "cbeff_owner", "cbeff_type"),
    "iso19794-2:2011": (),
}


@pytest.mark.parametrize("fmt", FORMATS)
@given(data=st.data())
@settings(max_examples=60, deadline=timedelta(seconds=1), derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
def test_generated_records_round_trip_byte_identically(fmt, data):
    record = data.draw(records(fmt))
    try:
        encoded = write_template(record)
    except TemplateError as error:   # header values that would read back as the other edition
        assume(error.field != "header")
        raise
    decoded = read_template(encoded)
    assert decoded.format == fmt
    assert write_template(decoded) == encoded
    assert decoded.fingers == record.fingers
    for name in ("padding", *HEADER_FIELDS[fmt]):
        assert getattr(decoded, name) == getattr(record, name), name
    if fmt == "iso19794-2:2011":
        for before, after in zip(record.views, decoded.views):
            assert (after.capture_time, after.device_id, after.certification_blocks) == \
                (before.capture_time, before.device_id, before.certification_blocks)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("includes_header", [True, False])
def test_extended_data_blocks_round_trip_under_either_length_convention(fmt, includes_header):
    record = read_template(write_template(read_template(sample_bytes(ISO)), fmt))
    blocks = [ExtendedBlock(2, b"\x01\x02\x03"), ExtendedBlock(0x0101, b""),
              ExtendedBlock(3, bytes(range(9)))]
    record.views[0] = replace(record.views[0], extended=blocks,
                              block_length_includes_header=includes_header)
    data = write_template(record)
    again = read_template(data)
    assert again.views[0].extended == blocks
    assert again.views[0].block_length_includes_header is includes_header
    assert write_template(again) == data


# --- fuzzing: a record or a TemplateError, never a crash or a hang ---------------------------

def _read_or_template_error(data: bytes) -> None:
    with hang_guard():
        try:
            record = read_template(data)
        except TemplateError as error:
            assert error.field and error.message
            return
        # Whatever is accepted can be written back and reads the same.
        again = read_template(write_template(record))
        assert again.fingers == record.fingers


@FUZZ_SETTINGS
@given(st.binary(max_size=600))
def test_fuzz_random_bytes(data):
    _read_or_template_error(data)


@FUZZ_SETTINGS
@given(st.sampled_from([b" 20\0", b"020\0", b"030\0"]), st.binary(max_size=600))
def test_fuzz_random_bytes_behind_a_valid_magic(version, tail):
    _read_or_template_error(b"FMR\0" + version + tail)


@pytest.mark.parametrize("name", SAMPLES)
def test_every_truncation_is_a_template_error(name):
    data = sample_bytes(name)
    for size in range(len(data)):
        with hang_guard(), pytest.raises(TemplateError):
            read_template(data[:size])


@FUZZ_SETTINGS
@given(st.sampled_from(list(SAMPLES)), st.data())
def test_fuzz_single_byte_mutations_of_samples(name, data):
    sample = sample_bytes(name)
    index = data.draw(st.integers(0, len(sample) - 1))
    value = data.draw(st.integers(0, 255))
    _read_or_template_error(sample[:index] + bytes([value]) + sample[index + 1:])


@FUZZ_SETTINGS
@given(st.sampled_from(list(SAMPLES)), st.data())
def test_fuzz_spliced_and_multi_byte_mutations(name, data):
    sample = bytearray(sample_bytes(name))
    for _ in range(data.draw(st.integers(1, 8))):
        sample[data.draw(st.integers(0, len(sample) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(sample)))
    _read_or_template_error(bytes(sample[:cut]) + data.draw(st.binary(max_size=40)))


# --- bad input, by the list ----------------------------------------------------------

FIRST_VIEW, FIRST_MINUTIA, EXTENDED_DATA = 24, 28, 0x148   # offsets in the ISO 2005 sample


def patched(name: str, offset: int, *values: int) -> bytes:
    data = bytearray(sample_bytes(name))
    data[offset:offset + len(values)] = bytes(values)
    return bytes(data)


def error_of(call, *args, **kwargs) -> TemplateError:
    with pytest.raises(TemplateError) as caught:
        call(*args, **kwargs)
    assert isinstance(caught.value, ValueError)
    return caught.value


@pytest.mark.parametrize("data, field, words", [
    (sample_bytes(ISO)[:30], "fingers[0].minutiae[0].y", "truncated"),
    (b"ABC\0 20\0" + bytes(20), "header.format_identifier", "FMR"),
    (b"FMR\0 99\0" + bytes(20), "header.version", "expected"),
    (patched(ISO, FIRST_MINUTIA, 0x42, 0x58), "fingers[0].minutiae[0].x", "outside the image"),
    (patched(ISO, FIRST_MINUTIA + 2, 0x02, 0x00), "fingers[0].minutiae[0].y", "outside the image"),
    (patched(ISO, FIRST_VIEW, 11), "fingers[0].position", "known finger position"),
    (patched(ISO, 22, 0), "header.finger_count", "at least one"),
    (patched(ISO, FIRST_VIEW + 3, 0), "fingers[0].minutiae", "no minutiae"),
    (patched(ISO, FIRST_MINUTIA, 0xC0), "fingers[0].minutiae[0].type", "unknown minutia type"),
    (patched(ISO, FIRST_MINUTIA + 5, 101), "fingers[0].minutiae[0].quality", "0-100"),
    (patched(ISO, EXTENDED_DATA, 0x00, 0x09), "fingers[1].extended_data", "do not add up"),
    (patched(ISO, 14, 0, 0), "header.width", "non-zero"),
])
def test_bad_binary_input_names_the_field(data, field, words):
    error = error_of(read_template, data)
    assert error.field == field and words in error.message, str(error)


def _iso_record() -> TemplateRecord:
    return read_template(sample_bytes(ISO))


@pytest.mark.parametrize("change, field, words", [
    (lambda r: r.fingers[0].minutiae.extend([r.fingers[0].minutiae[0]] * MAX_MINUTIAE),
     "fingers[0].minutiae", "1-255"),
    (lambda r: r.fingers.clear(), "fingers", "number of finger views"),
    (lambda r: setattr(r.fingers[1], "position", 12), "fingers[1].position", "finger position"),
    (lambda r: r.fingers[0].minutiae.clear(), "fingers[0].minutiae", "0 minutiae"),
    (lambda r: r.fingers[0].minutiae.__setitem__(3, Minutia(600, 5, 10.0)),
     "fingers[0].minutiae[3].x", "outside the image"),
    (lambda r: r.fingers[0].minutiae.__setitem__(3, Minutia(6, 5, 360.0)),
     "fingers[0].minutiae[3].angle", "[0, 360)"),
    (lambda r: r.fingers[0].minutiae.__setitem__(3, Minutia(6, 5, 1.0, "loop")),
     "fingers[0].minutiae[3].type", "unknown minutia type"),
    (lambda r: r.fingers[0].minutiae.__setitem__(3, Minutia(6, 5, 1.0, "ending", 101)),
     "fingers[0].minutiae[3].quality", "0-100"),
    (lambda r: setattr(r, "equipment_id", 5000), "header.equipment_id", "12-bit"),
])
def test_bad_record_on_write_names_the_field(change, field, words):
    record = _iso_record()
    change(record)
    error = error_of(write_template, record)
    assert error.field == field and words in error.message, str(error)


def test_template_error_carries_field_record_and_pickles():
    error = TemplateError("fingers[1].minutiae[17].x", "600 is outside the image", "DE-FP-77")
    assert str(error) == "DE-FP-77: fingers[1].minutiae[17].x: 600 is outside the image"
    again = pickle.loads(pickle.dumps(error))
    assert (again.field, again.message, again.record) == (error.field, error.message, "DE-FP-77")
    assert error.within("fingers[2].template").field == "fingers[2].template.fingers[1].minutiae[17].x"


def test_unknown_output_format_is_rejected():
    assert error_of(write_template, _iso_record(), "iso19794-2:2099").field == "format"


# --- the architecture's JSON finger form -----------------------------------------------------

def minutiae_form(**changes) -> dict:
    form = {"position": 7, "minutiae": {"width": 500, "height": 400, "resolution_dpi": 500,
                                        "points": [[120, 233, 45.0, "ending", 80],
                                                   [10, 20, 359.5, "bifurcation", 0]]}}
    form["minutiae"].update(changes)
    return form


def test_json_minutiae_form_parses():
    finger = finger_from_json(minutiae_form())
    assert finger == Finger(7, [Minutia(120, 233, 45.0, "ending", 80),
                                Minutia(10, 20, 359.5, "bifurcation", 0)],
                            width=500, height=400, resolution_dpi=500)
    assert finger_from_json(finger_to_json(finger)) == finger


def test_json_template_form_picks_the_view_of_its_position():
    template = base64.b64encode(sample_bytes("iso19794p2v2011-sample")).decode()
    finger = finger_from_json({"position": 2, "template": template})
    assert finger.position == 2 and len(finger.minutiae) == 22
    assert len(finger_from_json({"position": 7, "template": template}).minutiae) == 27


@pytest.mark.parametrize("obj, field, words", [
    ([1, 2], "fingers[0]", "expected an object"),
    ({"minutiae": {}}, "fingers[0].position", "missing"),
    ({"position": 11, "minutiae": {}}, "fingers[0].position", "known finger position"),
    ({"position": True, "minutiae": {}}, "fingers[0].position", "known finger position"),
    ({"position": 1}, "fingers[0]", "exactly one of"),
    ({"position": 1, "minutiae": {}, "template": ""}, "fingers[0]", "exactly one of"),
    ({"position": 1, "minutiae": {"height": 5, "points": []}}, "fingers[0].minutiae.width", "missing"),
    (minutiae_form(points=[]), "fingers[0].minutiae.points", "no minutiae"),
    (minutiae_form(points=None), "fingers[0].minutiae.points", "expected a list"),
    (minutiae_form(points=[[1, 2, 3.0, "ending", 0]] * 256), "fingers[0].minutiae.points", "at most 255"),
    (minutiae_form(points=[[500, 2, 3.0, "ending", 0]]), "fingers[0].minutiae.points[0].x", "outside the image"),
    (minutiae_form(points=[[5, -1, 3.0, "ending", 0]]), "fingers[0].minutiae.points[0].y", "outside the image"),
    (minutiae_form(points=[[5, 2, 360, "ending", 0]]), "fingers[0].minutiae.points[0].angle", "[0, 360)"),
    (minutiae_form(points=[[5, 2, float("nan"), "ending", 0]]), "fingers[0].minutiae.points[0].angle", "[0, 360)"),
    (minutiae_form(points=[[5, 2, 3.0, "delta", 0]]), "fingers[0].minutiae.points[0].type", "unknown minutia type"),
    (minutiae_form(points=[[5, 2, 3.0, "ending", 101]]), "fingers[0].minutiae.points[0].quality", "0-100"),
    (minutiae_form(points=[[5, 2, 3.0, "ending"]]), "fingers[0].minutiae.points[0]", "expected [x, y"),
    (minutiae_form(points=[[5.5, 2, 3.0, "ending", 0]]), "fingers[0].minutiae.points[0].x", "integer"),
    ({"position": 2, "template": "not base64!"}, "fingers[0].template", "base64"),
    ({"position": 2, "template": 17}, "fingers[0].template", "base64 string"),
    ({"position": 2, "template": base64.b64encode(b"FMR\0 20\0").decode()},
     "fingers[0].template.header.record_length", "truncated"),
    ({"position": 3, "template": base64.b64encode(sample_bytes(ISO)).decode()},
     "fingers[0].template", "no view of finger position 3"),
])
def test_json_form_errors_name_the_field(obj, field, words):
    error = error_of(finger_from_json, obj)
    assert error.field == field and words in error.message, str(error)


def test_json_field_prefix_is_the_callers():
    error = error_of(finger_from_json, minutiae_form(points=[]), field="fingers[3]")
    assert error.field == "fingers[3].minutiae.points"


# --- inspect ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", SAMPLES)
def test_inspect_prints_json_for_each_sample(name, capsys):
    path = fixtures_path("fingerprint-templates", f"{name}.dat")
    assert inspect_main([str(path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["format"] == SAMPLES[name] and printed["bytes"] == path.stat().st_size
    assert [len(f["points"]) for f in printed["fingers"]] == [27, 22]
    first = printed["fingers"][0]
    assert first["position_name"] == "LEFT_INDEX" and first["points"][0][:2] == [100, 14]


def test_inspect_shows_ridge_counts():
    fingers = template_to_json(read_template(sample_bytes("ansi378v2004-sample")))["fingers"]
    counts = fingers[1]["extended_data"][0]["ridge_counts"]
    assert counts == {"method": 1, "method_name": "quadrants", "edges": [[68, 188, 54]],
                      "trailing_bytes": 2}


def test_inspect_exit_codes(tmp_path, capsys):
    bad = tmp_path / "bad.dat"
    bad.write_bytes(sample_bytes(ISO)[:40])
    assert inspect_main([str(bad)]) == 1
    assert "bad.dat" in capsys.readouterr().err
    assert inspect_main([str(tmp_path / "missing.dat")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert inspect_main([]) == 2
