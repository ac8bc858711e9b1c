"""A bounds-checked reader for FlatBuffers tables, vectors and strings.

Only what a schema-specific reader needs: it checks, before every read, that
each offset, vtable, vector and string lies inside the buffer, as the C++
``flatbuffers::Verifier`` does, so that malformed bytes end in a
:class:`~edgevision.errors.ModelFileError` instead of a crash further down.
Fields are addressed by slot number (the field's position in the ``.fbs``
table), so the reader needs no generated code.

Example:
    >>> buf = FlatBuffer(open("model.tflite", "rb").read())  # doctest: +SKIP
    >>> root = buf.root("Model")                             # doctest: +SKIP
    >>> root.scalar(0, U32, 0)                               # doctest: +SKIP
    3
"""
from __future__ import annotations

import mmap
import struct

from edgevision.errors import ModelFileError

#: Anything ``struct.unpack_from`` reads and slicing copies out of.
Bytes = bytes | bytearray | memoryview | mmap.mmap

I8 = struct.Struct("<b")
U8 = struct.Struct("<B")
U16 = struct.Struct("<H")
I32 = struct.Struct("<i")
U32 = struct.Struct("<I")
U64 = struct.Struct("<Q")
_VTABLE_HEAD = struct.Struct("<HH")


class FlatBuffer:
    """A byte buffer plus a work budget shared by every table read from it.

    The budget bounds the total number of tables and vector items visited to
    the buffer's size: distinct objects take at least a byte each, so only
    forged files that point many references at one object run out of it, and
    they stop there instead of costing quadratic time.
    """

    __slots__ = ("_budget", "data", "size")

    def __init__(self, data: Bytes) -> None:
        self.data = data
        self.size = len(data)
        self._budget = self.size + 1024

    def spend(self, items: int, what: str) -> None:
        """Charge ``items`` units of work; fail once the file's budget is used up."""
        self._budget -= items
        if self._budget < 0:
            raise ModelFileError(
                f"expected each object in the {self.size}-byte flatbuffer to be read once, "
                f"got more references than bytes (at {what})"
            )

    def u32(self, pos: int, what: str) -> int:
        """The little-endian uint32 at ``pos``, bounds-checked."""
        if pos < 0 or pos + 4 > self.size:
            raise ModelFileError(f"expected {what} inside the {self.size}-byte file, got offset {pos}")
        return U32.unpack_from(self.data, pos)[0]

    def root(self, what: str) -> Table:
        """The root table, whose offset is the buffer's first four bytes."""
        return self.table(self.u32(0, f"root offset of {what}"), what)

    def table(self, pos: int, what: str) -> Table:
        """The table at ``pos`` after checking its vtable and inline size."""
        if pos < 4 or pos % 4 or pos + 4 > self.size:
            raise ModelFileError(
                f"expected table {what} at an aligned offset inside the {self.size}-byte file, got {pos}"
            )
        vtable = pos - I32.unpack_from(self.data, pos)[0]
        if vtable < 0 or vtable % 2 or vtable + 4 > self.size:
            raise ModelFileError(f"expected the vtable of {what} inside the file, got offset {vtable}")
        vt_size, obj_size = _VTABLE_HEAD.unpack_from(self.data, vtable)
        if vt_size < 4 or vt_size % 2 or vtable + vt_size > self.size:
            raise ModelFileError(f"expected the vtable of {what} to fit in the file, got size {vt_size} at {vtable}")
        if obj_size < 4 or pos + obj_size > self.size:
            raise ModelFileError(f"expected table {what} to fit in the file, got size {obj_size} at {pos}")
        self.spend(1, what)
        return Table(self, pos, vtable, (vt_size - 4) // 2, obj_size, what)


class Table:
    """One verified table; fields are read by slot (0 = first field in the schema)."""

    __slots__ = ("_nfields", "_obj_size", "_vtable", "buf", "pos", "what")

    def __init__(self, buf: FlatBuffer, pos: int, vtable: int, nfields: int, obj_size: int, what: str) -> None:
        self.buf, self.pos, self.what = buf, pos, what
        self._vtable, self._nfields, self._obj_size = vtable, nfields, obj_size

    def _field(self, slot: int, width: int) -> int | None:
        """Absolute position of a field of ``width`` bytes, or None when absent."""
        if slot >= self._nfields:
            return None
        off = U16.unpack_from(self.buf.data, self._vtable + 4 + 2 * slot)[0]
        if off == 0:
            return None
        pos = self.pos + off
        if off < 4 or off + width > self._obj_size or pos % width:
            raise ModelFileError(
                f"expected field {slot} of {self.what} aligned inside its {self._obj_size}-byte table, got offset {off}"
            )
        return pos

    def has(self, slot: int) -> bool:
        """Whether the field is present (scalars equal to their default usually are not)."""
        return slot < self._nfields and U16.unpack_from(self.buf.data, self._vtable + 4 + 2 * slot)[0] != 0

    def scalar(self, slot: int, kind: struct.Struct, default: int) -> int:
        """A scalar field, or ``default`` when absent."""
        pos = self._field(slot, kind.size)
        return default if pos is None else kind.unpack_from(self.buf.data, pos)[0]

    def _target(self, slot: int, what: str) -> int | None:
        """Where the uoffset in ``slot`` points, or None when the field is absent."""
        pos = self._field(slot, 4)
        return None if pos is None else pos + self.buf.u32(pos, what)

    def table(self, slot: int, what: str) -> Table | None:
        """A sub-table field, or None when absent."""
        target = self._target(slot, what)
        return None if target is None else self.buf.table(target, what)

    def _vector(self, slot: int, item_size: int, what: str) -> tuple[int, int]:
        """(start of items, item count) of a vector field; (0, 0) when absent."""
        target = self._target(slot, what)
        if target is None:
            return 0, 0
        if target % 4:
            raise ModelFileError(f"expected vector {what} at an aligned offset, got {target}")
        count = self.buf.u32(target, f"length of {what}")
        start = target + 4
        if count * item_size > self.buf.size - start:
            raise ModelFileError(
                f"expected {what} ({count} x {item_size} bytes) to fit in the file, "
                f"got {self.buf.size - start} bytes left"
            )
        return start, count

    def vector_length(self, slot: int, item_size: int, what: str) -> int:
        """The item count of a vector field, bounds-checked but not read (e.g. weights)."""
        return self._vector(slot, item_size, what)[1]

    def blob(self, slot: int, what: str) -> bytes:
        """A ``[ubyte]`` vector field's bytes (b"" when absent), bounds-checked."""
        start, count = self._vector(slot, 1, what)
        return bytes(self.buf.data[start:start + count]) if count else b""

    def scalars(self, slot: int, code: str, what: str) -> tuple:
        """A vector of scalars as a tuple; ``code`` is a struct code ('i', 'f', 'q', 'B')."""
        start, count = self._vector(slot, struct.calcsize(code), what)
        if not count:
            return ()
        self.buf.spend(count, what)
        return struct.unpack_from(f"<{count}{code}", self.buf.data, start)

    def tables(self, slot: int, what: str) -> list[Table]:
        """A vector of tables, each verified."""
        start, count = self._vector(slot, 4, what)
        if not count:
            return []
        self.buf.spend(count, what)
        offsets = struct.unpack_from(f"<{count}I", self.buf.data, start)
        table = self.buf.table
        return [table(start + 4 * i + off, what) for i, off in enumerate(offsets)]

    def string(self, slot: int, what: str) -> str | None:
        """A string field (UTF-8, undecodable bytes replaced), or None when absent."""
        start, count = self._vector(slot, 1, what)
        if not start:
            return None
        end = start + count
        if end >= self.buf.size or self.buf.data[end] != 0:
            raise ModelFileError(f"expected string {what} to end with a NUL inside the file, got none at {end}")
        return bytes(self.buf.data[start:end]).decode("utf-8", "replace")
