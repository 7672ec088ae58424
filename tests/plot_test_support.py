"""What the plot scripts' tests share: the skip when matplotlib is missing, running the script
under test (sys.argv[1]) with Debian's interpreter, and checking a written PNG."""
import struct
import subprocess
import sys

script = sys.argv[1]


def require_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("SKIP: matplotlib is missing (apt-get install python3-matplotlib, or scripts/setup.sh)")
        sys.exit(77)


def check_png(path, min_bytes=100):
    """Asserts a complete PNG (signature, IHDR with a size, IEND last); returns (width, height)."""
    with open(path, "rb") as f:
        data = f.read()
    assert len(data) > min_bytes, f"{path}: {len(data)} bytes"
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG signature"
    length, kind, width, height = struct.unpack(">I4sII", data[8:24])
    assert kind == b"IHDR" and width > 0 and height > 0, f"{path}: bad IHDR {kind} {width}x{height}"
    assert data[-8:-4] == b"IEND", f"{path}: no IEND chunk at the end"
    return width, height


def run(*args):
    return subprocess.run(["/usr/bin/python3", script, *args], capture_output=True, text=True)
