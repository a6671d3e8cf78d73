"""Hypothesis strategies for hostile bytes: a real file with a few bytes flipped, cut, inserted, deleted
or repeated, as a broken download or an attacker would hand it over."""

from hypothesis import strategies as st


@st.composite
def _edit(draw, size):
    """One edit of a byte string of `size` bytes: (kind, position, argument)."""
    kind = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete", "repeat"]))
    position = draw(st.integers(0, max(0, size - 1)))
    if kind == "flip":
        return kind, position, 1 << draw(st.integers(0, 7))
    if kind == "set":
        return kind, position, draw(st.sampled_from([0, 0xFF, 0x7F, 0x80, 1])) if draw(st.booleans()) \
            else draw(st.integers(0, 255))
    if kind == "insert":
        return kind, position, draw(st.binary(min_size=1, max_size=64))
    return kind, position, draw(st.integers(1, 4096))


def _apply(data, edit):
    kind, position, argument = edit
    if kind == "flip":
        return data[:position] + bytes([data[position] ^ argument]) + data[position + 1:] if data else data
    if kind == "set":
        return data[:position] + bytes([argument]) + data[position + 1:] if data else data
    if kind == "truncate":
        return data[:position]
    if kind == "insert":
        return data[:position] + argument + data[position:]
    if kind == "delete":
        return data[:position] + data[position + argument:]
    return data[:position] + data[position:position + argument] * 2 + data[position + argument:]


class Mutated(bytes):
    """Bytes that print as the edits that made them, not as kilobytes of data."""

    def __repr__(self):
        return f"<original {self.original} after {self.edits}: {len(self)} bytes>"


@st.composite
def mutated(draw, originals, max_edits=4):
    """One of `originals` (byte strings) after 1 to `max_edits` random edits."""
    original = draw(st.integers(0, len(originals) - 1))
    data, edits = originals[original], []
    for _ in range(draw(st.integers(1, max_edits))):
        edits.append(draw(_edit(len(data))))
        data = _apply(data, edits[-1])
    result = Mutated(data)
    result.original, result.edits = original, edits
    return result
