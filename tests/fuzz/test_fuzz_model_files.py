"""Fuzzing `load_model` (`.cnnkit`, `.keras`) and `load_weights` (`.weights.h5`, safetensors).

Every case starts from a real small convnet saved in each format and mutates it: flipped bytes,
truncations, inserted and deleted bytes, overwritten zip header fields, entries mutated and
zipped again with valid checksums, entries swapped between files, dropped or duplicated, hostile
entry names and attributes, deflate bombs, grown and shrunk safetensors header lengths, edited
safetensors headers and edited JSON configs. Each case must end in success or `ModelFileError`,
within the reader's time and peak-memory bound. Run with `-s` to see the figures of the run:

    CNNKIT_FUZZ_SCALE=10 .venv/bin/python -m pytest tests/fuzz/test_fuzz_model_files.py -q -s
"""

import io
import json
import struct
import warnings
import zipfile
import zlib
from collections import Counter

import numpy as np
import pytest
from _bounds import MIB, bounded, budget
from hypothesis import given
from hypothesis import strategies as st

from cnnkit import layers, models
from cnnkit.saving import ModelFileError, load_model, load_weights

# Each reader's bound for one case: seconds and peak resident memory rise.
BOUNDS = {"cnnkit": (3.0, 160 * MIB), "keras": (3.0, 160 * MIB), "weights.h5": (2.0, 96 * MIB),
          "weights.safetensors": (2.0, 96 * MIB)}
FILES = {"cnnkit": "model.cnnkit", "keras": "model.keras", "weights.h5": "model.weights.h5",
         "weights.safetensors": "model.weights.safetensors"}
STATS = {"cases": Counter(), "outcomes": Counter(), "slowest": (0.0, ""), "largest": (0, "")}
ZIP_SIGNATURES = {b"PK\x03\x04": 30, b"PK\x01\x02": 46, b"PK\x05\x06": 22}  # header: fixed size


def small_convnet():
    model = models.Sequential([layers.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"),
                               layers.BatchNormalization(), layers.MaxPooling2D(2), layers.Flatten(),
                               layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(np.random.rand(8, 8, 8, 1).astype("float32"), np.arange(8) % 3, epochs=1, verbose=0)
    return model


class Saved(tuple):
    """(model, {kind: file bytes}, folder), shown short in hypothesis's reports."""

    def __repr__(self):
        return "saved"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The convnet saved in each format; every reader warmed up once."""
    folder = tmp_path_factory.mktemp("fuzz")
    model = small_convnet()
    files = {}
    for kind, name in FILES.items():
        path = folder / name
        model.save_weights(path) if kind.startswith("weights") else model.save(path)
        files[kind] = path.read_bytes()
        read(kind, model, path)
    yield Saved((model, files, folder))
    report()


def read(kind, model, path):
    return load_weights(model, path) if kind.startswith("weights") else load_model(path)


def run_case(saved, kind, data, what):
    """Loads `data` as a `kind` file: success or ModelFileError, within the reader's bounds."""
    model, _, folder = saved
    path = folder / f"case.{kind}"
    path.write_bytes(data)
    seconds, memory = BOUNDS[kind]
    outcome = "success"
    with bounded(seconds, memory, f"{kind} ({what})") as measured, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a mutated file may warn (an optimizer state not loaded): a success
        try:
            read(kind, model, path)
        except ModelFileError:
            outcome = "ModelFileError"
    record(kind, what, outcome, measured)


def record(kind, what, outcome, measured):
    STATS["cases"][kind] += 1
    STATS["outcomes"][f"{kind}: {outcome}"] += 1
    if measured.seconds > STATS["slowest"][0]:
        STATS["slowest"] = (measured.seconds, f"{kind} ({what})")
    if measured.peak_rise > STATS["largest"][0]:
        STATS["largest"] = (measured.peak_rise, f"{kind} ({what})")


def report():
    print(f"\nfuzz: {sum(STATS['cases'].values())} cases {dict(STATS['cases'])}")
    for outcome, count in sorted(STATS["outcomes"].items()):
        print(f"  {outcome}: {count}")
    print(f"  slowest: {STATS['slowest'][0]:.3f} s, {STATS['slowest'][1]}")
    print(f"  largest peak memory rise: {STATS['largest'][0] / MIB:.1f} MiB, {STATS['largest'][1]}")


# -- byte-level mutations ------------------------------------------------------------------------
def mutate_bytes(draw, data):
    """(mutated bytes, description): flipped, truncated, inserted, deleted or overwritten bytes."""
    how = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "field"]))
    if not data or how == "insert":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.binary(min_size=1, max_size=64)) + data[at:], f"insert at {at}"
    if how == "flip":
        out = bytearray(data)
        for at in draw(st.lists(st.integers(0, len(data) - 1), min_size=1, max_size=8)):
            out[at] ^= draw(st.integers(1, 255))
        return bytes(out), "flip"
    if how == "truncate":
        at = draw(st.integers(0, len(data) - 1))
        return data[:at], f"truncate at {at}"
    if how == "delete":
        at = draw(st.integers(0, len(data) - 1))
        return data[:at] + data[at + draw(st.integers(1, 64)):], f"delete at {at}"
    return overwrite_field(draw, data)


def overwrite_field(draw, data):
    """A 2- or 4-byte field of a zip header (local, central or end record) set to a drawn value;
    elsewhere (no zip headers) any 2 or 4 bytes."""
    starts = [(at, size) for signature, size in ZIP_SIGNATURES.items()
              for at in _find_all(data, signature)]
    at, size = draw(st.sampled_from(starts)) if starts else (0, len(data))
    width = draw(st.sampled_from([2, 4]))
    offset = at + draw(st.integers(0, max(0, min(size, len(data) - at) - width)))
    value = draw(st.sampled_from([0, 1, 0xFFFF, 0xFFFFFFFF, 2**31, 8, 12]) | st.integers(0, 2**(8 * width) - 1))
    value %= 2**(8 * width)
    return data[:offset] + value.to_bytes(width, "little") + data[offset + width:], f"header field at {offset}"


def _find_all(data, needle):
    at = data.find(needle)
    while at != -1:
        yield at
        at = data.find(needle, at + 1)


# -- zip-level mutations -------------------------------------------------------------------------
def entries_of(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def zip_of(entries, deflate=False):
    """A zip of `[(name or ZipInfo, bytes)]`, duplicates allowed, with valid checksums."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore")  # "Duplicate name"
        for name, data in entries:
            info = name if isinstance(name, zipfile.ZipInfo) else zipfile.ZipInfo(name)
            if deflate:
                info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def mutate_entries(draw, files, kind):
    """(zip bytes, description): one entry mutated, swapped, dropped, duplicated or renamed; or an
    entry with a hostile name or attributes added."""
    entries = entries_of(files[kind])
    index = draw(st.integers(0, len(entries) - 1))
    name, data = entries[index]
    how = draw(st.sampled_from(["mutate", "swap", "drop", "duplicate", "hostile", "safetensors", "json"]))
    if how == "mutate":
        entries[index] = (name, mutate_bytes(draw, data)[0])
    elif how == "swap":
        other = draw(st.sampled_from([entry for key in ("cnnkit", "keras") for entry in entries_of(files[key])]))
        entries[index] = (name, other[1])
    elif how == "drop":
        del entries[index]
    elif how == "duplicate":
        entries.insert(draw(st.integers(0, len(entries))), (name, mutate_bytes(draw, data)[0]))
    elif how == "hostile":
        entries.append((hostile_info(draw, name), data))
    elif how == "safetensors" and name.endswith(".safetensors"):
        entries[index] = (name, mutate_safetensors(draw, data)[0])
    elif how == "json" and name.endswith(".json"):
        entries[index] = (name, mutate_json(draw, data))
    return zip_of(entries, deflate=draw(st.booleans())), f"entry {name}: {how}"


def hostile_info(draw, name):
    """A ZipInfo for an absolute, `..` or Windows path, a symbolic link or an encrypted entry."""
    kind = draw(st.sampled_from(["absolute", "parent", "windows", "symlink", "encrypted"]))
    info = zipfile.ZipInfo({"absolute": f"/tmp/{name}", "parent": f"../{name}",
                            "windows": f"..\\{name}"}.get(kind, name if draw(st.booleans()) else f"x/{name}"))
    if kind == "symlink":
        info.external_attr = (0o120777 << 16)
    if kind == "encrypted":
        info.flag_bits |= 0x1
    return info


# -- safetensors and JSON mutations --------------------------------------------------------------
def mutate_safetensors(draw, data):
    """(bytes, description): the header length field grown or shrunk, or one header value replaced."""
    size = int.from_bytes(data[:8], "little")
    if draw(st.booleans()):
        new = draw(st.sampled_from([0, 1, size - 1, size + 1, len(data), 2**63, 2**64 - 1]) | st.integers(0, 2**64 - 1))
        return new.to_bytes(8, "little") + data[8:], f"header length {new}"
    header = json.loads(data[8:8 + size])
    header = replace_somewhere(draw, header)
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + data[8 + size:], "header edited"


def mutate_json(draw, data):
    return json.dumps(replace_somewhere(draw, json.loads(data))).encode()


JSON_VALUES = (st.sampled_from([0, -1, 1, 3, 2**31, 10**12, 2**63, -(2**63), 1e308, "", "F16", "BF16", "I64",
                                None, True, [], {}, [2**40, 2**40]])
               | st.integers(-(2**64), 2**64) | st.floats() | st.text(max_size=8)
               | st.lists(st.integers(-2, 2**33), max_size=5))


def replace_somewhere(draw, value):
    """`value` with one node (anywhere in it) replaced by a drawn JSON value, or deleted from its dict."""
    paths = list(_node_paths(value))
    path = draw(st.sampled_from(paths))
    if not path:
        return draw(JSON_VALUES)
    parent = value
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and draw(st.integers(0, 4)) == 0:
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(JSON_VALUES)
    return value


def _node_paths(value, path=()):
    yield path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield from _node_paths(item, (*path, key))


# -- deflate bombs -------------------------------------------------------------------------------
_BOMB_BLOCKS = {}


def deflate_bomb(mib):
    """(raw deflate stream of `mib` MiB of zeros, its CRC-32): 1 KiB of stream per MiB, built in
    a blink from one fully flushed block repeated."""
    if mib not in _BOMB_BLOCKS:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        block = compressor.compress(bytes(MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)
        end = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
        crc = 0
        zeros = bytes(MIB)
        for _ in range(mib):
            crc = zlib.crc32(zeros, crc)
        _BOMB_BLOCKS[mib] = (block * mib + end, crc)
    return _BOMB_BLOCKS[mib]


def bomb_zip(entries, bomb_name, mib, declared=None, declared_compressed=None):
    """A zip of `entries` (stored) plus `bomb_name`, deflated zeros expanding to `mib` MiB; its
    headers declare `declared` bytes uncompressed (default: the truth) and `declared_compressed`."""
    stream, crc = deflate_bomb(mib)
    members = [(name, data, 0, zlib.crc32(data), len(data), len(data)) for name, data in entries]
    members.append((bomb_name, stream, 8, crc, declared_compressed or len(stream),
                    mib * MIB if declared is None else declared))
    out, central = io.BytesIO(), io.BytesIO()
    for name, data, method, crc, compressed, size in members:
        offset, encoded = out.tell(), name.encode()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, compressed,
                              size % 2**32, len(encoded), 0) + encoded + data)
        central.write(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc, compressed,
                                  size % 2**32, len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    directory = central.getvalue()
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), out.tell(), 0)
    return out.getvalue() + directory + end


# -- the fuzz tests ------------------------------------------------------------------------------
def mutated_model_file(saved, data, kind):
    """A `kind` ("cnnkit" or "keras") file with its bytes or its zip entries mutated, then loaded."""
    draw = data.draw
    if draw(st.booleans()):
        mutated, what = mutate_bytes(draw, saved[1][kind])
    else:
        mutated, what = mutate_entries(draw, saved[1], kind)
    run_case(saved, kind, mutated, what)


@budget(3000)
@given(st.data())
def test_mutated_cnnkit_files(saved, data):
    mutated_model_file(saved, data, "cnnkit")


@budget(2500)
@given(st.data())
def test_mutated_keras_files(saved, data):
    mutated_model_file(saved, data, "keras")


@budget(2500)
@given(st.data())
def test_mutated_safetensors_weights(saved, data):
    draw = data.draw
    original = saved[1]["weights.safetensors"]
    mutated, what = mutate_safetensors(draw, original) if draw(st.booleans()) else mutate_bytes(draw, original)
    run_case(saved, "weights.safetensors", mutated, what)


@budget(2000)
@given(st.data())
def test_mutated_weights_h5(saved, data):
    mutated, what = mutate_bytes(data.draw, saved[1]["weights.h5"])
    run_case(saved, "weights.h5", mutated, what)


@budget(100)
@given(kind=st.sampled_from(["cnnkit", "keras"]), mib=st.sampled_from([64, 256, 1024]),
       lie=st.sampled_from(["truth", "small", "huge", "compressed"]), index=st.integers(0, 2))
def test_deflate_bombs(saved, kind, mib, lie, index):
    """An entry replaced by deflated zeros, its sizes declared truthfully or not."""
    entries = entries_of(saved[1][kind])
    name = entries[index % len(entries)][0]
    stream, _ = deflate_bomb(mib)
    declared = {"truth": None, "small": 1000, "huge": 2**32 - 1, "compressed": None}[lie]
    declared_compressed = 2**31 if lie == "compressed" else None
    others = [entry for entry in entries if entry[0] != name]
    run_case(saved, kind, bomb_zip(others, name, mib, declared, declared_compressed), f"bomb {name} {mib} MiB {lie}")


def test_the_issues_3_gib_bomb_fails_fast_with_a_clear_error(saved, tmp_path):
    """Issue 15's case: a 3 MB `.cnnkit` whose model.safetensors expands to 3 GiB took 21 s and 6.4 GiB."""
    entries = [entry for entry in entries_of(saved[1]["cnnkit"]) if entry[0] != "model.safetensors"]
    path = tmp_path / "bomb.cnnkit"
    path.write_bytes(bomb_zip(entries, "model.safetensors", 3072))
    assert 2 * MIB < path.stat().st_size < 4 * MIB
    with bounded(0.5, 32 * MIB, "the 3 GiB bomb"), pytest.raises(ModelFileError) as caught:
        load_model(path)
    message = str(caught.value)
    assert str(path) in message and "'model.safetensors'" in message and "ratio" in message and "100" in message


def test_a_bomb_declaring_a_small_size_stops_at_it(saved, tmp_path):
    entries = [entry for entry in entries_of(saved[1]["keras"]) if entry[0] != "model.weights.h5"]
    path = tmp_path / "lying.keras"
    path.write_bytes(bomb_zip(entries, "model.weights.h5", 1024, declared=4096))
    with bounded(0.5, 32 * MIB, "the lying bomb"), pytest.raises(ModelFileError, match="'model.weights.h5' is corrupt"):
        load_model(path)
