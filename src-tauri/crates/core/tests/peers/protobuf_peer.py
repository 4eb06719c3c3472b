"""The independent side of the Protobuf tests: compiles the test's .proto files with PyPI
grpcio-tools (protoc) and encodes or decodes payloads with Python's protobuf.

    protobuf_peer.py encode PROTO_DIR OUT_DIR   writes reading.bin, alarm.bin, truncated.bin
    protobuf_peer.py decode PROTO_DIR TYPE FILE prints the message as JSON (field names as in
                                                the .proto)
"""

import importlib
import pathlib
import sys
import tempfile

from grpc_tools import protoc


def compile_protos(proto_dir: pathlib.Path) -> pathlib.Path:
    out = pathlib.Path(tempfile.mkdtemp())
    files = [str(p.relative_to(proto_dir)) for p in sorted(proto_dir.rglob("*.proto"))]
    well_known = pathlib.Path(protoc.__file__).parent / "_proto"
    status = protoc.main(
        ["protoc", f"-I{proto_dir}", f"-I{well_known}", f"--python_out={out}", *files]
    )
    if status != 0:
        sys.exit(f"protoc failed ({status})")
    sys.path.insert(0, str(out))
    return out


def main() -> None:
    command, proto_dir = sys.argv[1], pathlib.Path(sys.argv[2])
    compile_protos(proto_dir)
    reading_pb2 = importlib.import_module("factory.reading_pb2")
    units_pb2 = importlib.import_module("common.units_pb2")
    if command == "encode":
        out = pathlib.Path(sys.argv[3])
        reading = reading_pb2.Reading(
            sensor="press-7",
            location=reading_pb2.Reading.Location(line="L2", station=4),
            counter=9007199254740993,
            fault="overheat",
        )
        reading.measurements.add(value=81.5, unit=units_pb2.CELSIUS)
        reading.measurements.add(value=2.25, unit=units_pb2.BAR)
        reading.labels["site"] = "north"
        reading.at.FromMilliseconds(1_700_000_000_123)
        reading.extra.Pack(reading_pb2.Alarm(code="E42", unit=units_pb2.BAR))
        data = reading.SerializeToString()
        (out / "reading.bin").write_bytes(data)
        (out / "alarm.bin").write_bytes(reading_pb2.Alarm(code="E1", unit=units_pb2.CELSIUS).SerializeToString())
        (out / "truncated.bin").write_bytes(data[: len(data) // 2])
    elif command == "decode":
        from google.protobuf import json_format

        type_name, path = sys.argv[3], pathlib.Path(sys.argv[4])
        cls = {"factory.v1.Reading": reading_pb2.Reading, "factory.v1.Alarm": reading_pb2.Alarm}[type_name]
        message = cls.FromString(path.read_bytes())
        print(json_format.MessageToJson(message, preserving_proto_field_name=True, indent=None))
    else:
        sys.exit(f"unknown command {command}")


main()
