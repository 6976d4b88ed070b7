"""The protocol's numbers are written twice, in firmware/app/ek_protocol.h (the device) and
edgekit/devices/protocol.py (the host); this test holds them equal, name by name: every
EK_T_*, EK_E_*, EK_KIND_* and the version, payload limit, sync bytes and batch magic. A new
request is one line on each side (EK_T_FOO = 0x0B and T_FOO), or this fails naming it."""

from __future__ import annotations

import re

from edgekit import resources
from edgekit.devices import protocol as P

HEADER = resources.firmware_dir() / "app" / "ek_protocol.h"


def _c_constants() -> dict[str, int]:
    text = re.sub(r"/\*.*?\*/", "", HEADER.read_text(), flags=re.S)
    out = {name: int(v, 0) for name, v in re.findall(r"#define\s+(EK_\w+)\s+(0x[0-9A-Fa-f]+|\d+)u?\b", text)}
    for body in re.findall(r"enum\s*\{(.*?)\}", text, flags=re.S):
        for name, v in re.findall(r"(EK_\w+)\s*=\s*(0x[0-9A-Fa-f]+|\d+)", body):
            out[name] = int(v, 0)
    return out


def test_header_and_host_agree_name_by_name():
    c = _c_constants()
    groups = [k for k in c if k.startswith(("EK_T_", "EK_E_", "EK_KIND_"))]
    assert len(groups) >= 20, sorted(c)  # the parser found the enums
    mismatched = {k: (v, getattr(P, k[3:], None)) for k, v in c.items()
                  if k.startswith(("EK_T_", "EK_E_", "EK_KIND_")) and getattr(P, k[3:], None) != v}
    assert not mismatched, f"ek_protocol.h vs protocol.py (C, Python): {mismatched}"
    host_only = [n for n in dir(P) if re.fullmatch(r"(T|E|KIND)_[A-Z_]+", n) and f"EK_{n}" not in c]
    assert not host_only, f"in protocol.py but not in ek_protocol.h: {host_only}"
    assert c["EK_PROTOCOL_VERSION"] == P.PROTOCOL_VERSION
    assert c["EK_MAX_PAYLOAD"] == P.MAX_PAYLOAD
    assert bytes([c["EK_SYNC0"], c["EK_SYNC1"]]) == P.SYNC
    assert c["EK_BATCH_MAGIC"] == P.BATCH_MAGIC
