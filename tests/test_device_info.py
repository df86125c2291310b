"""core's one type for a device on this computer (core/device_info.py): its
JSON (what crosses from ``parsec-tray devices --json`` to the tray) reads
back as the same value, and the module stays light enough for an idle
tray.  The listing itself is checked against real device files in
test_cli.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from parsec_tray.core import DeviceInfo, Protection

text = st.text(max_size=40)
hex32 = st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)
infos = st.builds(
    DeviceInfo,
    device_file=st.builds(Path, st.text(alphabet="abc/._- é", min_size=1, max_size=30)),
    organization_id=text,
    user_id=hex32,
    device_id=hex32,
    email=text,
    user_name=text,
    device_label=text,
    server_url=text,
    protection=st.sampled_from(Protection),
    pending=st.booleans(),
)


@given(infos)
def test_the_json_reads_back_as_the_same_device(info: DeviceInfo) -> None:
    wire = json.loads(json.dumps(info.to_json()))
    back = DeviceInfo.from_json(wire)
    assert back == info
    assert type(back.protection) is Protection and back.key == str(info.device_file)


def test_a_protection_it_does_not_know_is_refused() -> None:
    info = DeviceInfo(Path("/d/1.keys"), "ACME", "a" * 32, "b" * 32, "a@x", "A", "pc", "parsec3://h")
    wire = {**info.to_json(), "protection": "telepathy"}
    with pytest.raises(ValueError, match="telepathy"):
        DeviceInfo.from_json(wire)
    assert info.protection is Protection.PASSWORD  # the default, as before any listing


def test_the_module_imports_nothing_heavy() -> None:
    code = (
        "import sys; from parsec_tray.core import DeviceInfo, Protection; DeviceInfo, Protection; "
        "print(sorted(m for m in sys.modules if m.startswith('parsec_tray.core.') "
        "or m.split('.')[0] in {'msgpack', 'zstandard', 'nacl', 'requests'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['parsec_tray.core.device_info', 'parsec_tray.core.i18n']"
