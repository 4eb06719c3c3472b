"""Sparkplug B payloads encoded by an independent implementation (PyPI pysparkplug), for the
workbench's Sparkplug tests. Writes one file per message into the folder given as the first
argument, and a manifest (`manifest.txt`: one `file<TAB>topic` line per message, in order)."""

import pathlib
import sys

from pysparkplug import (
    DataType,
    DBirth,
    DData,
    DDeath,
    Metric,
    NBirth,
    NData,
    NDeath,
)

out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
T = 1_700_000_000_000
messages = []


def add(topic, payload):
    name = f"{len(messages):02d}.bin"
    (out / name).write_bytes(payload.encode(include_dtypes=isinstance(payload, (NBirth, DBirth))))
    messages.append((name, topic))


bd_seq = Metric(timestamp=T, name="bdSeq", datatype=DataType.UINT64, value=3)
add(
    "spBv1.0/Plant/NBIRTH/edge1",
    NBirth(
        timestamp=T,
        seq=0,
        metrics=(
            bd_seq,
            Metric(timestamp=T, name="Temperature", datatype=DataType.FLOAT, value=21.5, alias=1),
            Metric(timestamp=T, name="Count", datatype=DataType.INT32, value=-5, alias=2),
            Metric(timestamp=T, name="Line/Running", datatype=DataType.BOOLEAN, value=True, alias=3),
        ),
    ),
)
add(
    "spBv1.0/Plant/DBIRTH/edge1/pump1",
    DBirth(
        timestamp=T + 1,
        seq=1,
        metrics=(
            Metric(timestamp=T + 1, name="Speed", datatype=DataType.DOUBLE, value=1450.0, alias=10),
            Metric(timestamp=T + 1, name="Mode", datatype=DataType.STRING, value="auto", alias=11),
        ),
    ),
)
# Data by alias only, without data types: the BIRTH names them.
add(
    "spBv1.0/Plant/NDATA/edge1",
    NData(
        timestamp=T + 2,
        seq=2,
        metrics=(
            Metric(timestamp=T + 2, name=None, datatype=DataType.FLOAT, value=22.25, alias=1),
            Metric(timestamp=T + 2, name=None, datatype=DataType.INT32, value=-7, alias=2),
        ),
    ),
)
add(
    "spBv1.0/Plant/DDATA/edge1/pump1",
    DData(
        timestamp=T + 3,
        seq=3,
        metrics=(Metric(timestamp=T + 3, name=None, datatype=DataType.DOUBLE, value=1500.5, alias=10),),
    ),
)
# seq 4 is lost on the way: a gap.
add(
    "spBv1.0/Plant/NDATA/edge1",
    NData(
        timestamp=T + 5,
        seq=5,
        metrics=(Metric(timestamp=T + 5, name=None, datatype=DataType.FLOAT, value=23.0, alias=1),),
    ),
)
# A device that never sent its DBIRTH.
add(
    "spBv1.0/Plant/DDATA/edge1/pump2",
    DData(
        timestamp=T + 6,
        seq=6,
        metrics=(Metric(timestamp=T + 6, name="Speed", datatype=DataType.DOUBLE, value=9.0),),
    ),
)
add("spBv1.0/Plant/DDEATH/edge1/pump1", DDeath(timestamp=T + 7, seq=7))
add("spBv1.0/Plant/NDEATH/edge1", NDeath(timestamp=T + 8, bd_seq_metric=bd_seq))
# Another edge node's data before any BIRTH.
add(
    "spBv1.0/Plant/NDATA/edge2",
    NData(
        timestamp=T + 9,
        seq=0,
        metrics=(Metric(timestamp=T + 9, name="Level", datatype=DataType.UINT16, value=7),),
    ),
)
# The will test's edge node: its BIRTH (published by the test) and its NDEATH (its will).
bd_will = Metric(timestamp=T, name="bdSeq", datatype=DataType.UINT64, value=0)
will_birth = NBirth(timestamp=T, seq=0, metrics=(bd_will,))
(out / "will_birth.bin").write_bytes(will_birth.encode(include_dtypes=True))
(out / "will_death.bin").write_bytes(NDeath(timestamp=T, bd_seq_metric=bd_will).encode())

(out / "manifest.txt").write_text("".join(f"{name}\t{topic}\n" for name, topic in messages))
