"""SMP codec vectors checked against the Python `smp` package at test time.

Client direction: every request our C encoder produces decodes in `smp` to the same fields,
and every response `smp` encodes decodes in C to the same fields. Server direction: the
reverse. Responses are also fed as real Zephyr servers write them (indefinite-length maps,
shuffled keys, unknown keys). Slot info and bootloader "mode" are not modelled by `smp`
4.2, so those vectors are built with cbor2 from the Zephyr format (shared/spec/smp.md).
"""
import hashlib
import json
import os
import random
import subprocess

import cbor2
import pytest
from smp import header as smph
from smp import image_management as im
from smp import os_management as osm

BUILD = os.environ.get("SMPFOTA_BUILD", "build")
TOOL = os.path.join(BUILD, "tests", "smp_codec_tool")

SHA = hashlib.sha256(b"smpfota").digest()
HASH = hashlib.sha256(b"image").digest()


def tool(*args):
    res = subprocess.run([TOOL, *map(str, args)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def flatten(fields, prefix=""):
    out = []
    for k, v in fields.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict):
            out += flatten(v, path + ".")
        elif isinstance(v, list):
            for i, item in enumerate(v):
                out += flatten(item, f"{path}.{i}.")
        elif isinstance(v, bool):
            out.append(f"{path}={'true' if v else 'false'}")
        elif isinstance(v, (bytes, bytearray)):
            out.append(f"{path}={bytes(v).hex()}")
        else:
            out.append(f"{path}={v}")
    return out


def c_enc_req(msg, fields, version=1, seq=0):
    return bytes.fromhex(tool("enc-req", msg, version, seq, *flatten(fields)))


def c_dec(kind, msg, frame):
    return json.loads(tool(kind, msg, bytes(frame).hex()))


def as_json(fields):
    """Fields as the C tool prints them: bytes as hex."""
    if isinstance(fields, dict):
        return {k: as_json(v) for k, v in fields.items()}
    if isinstance(fields, list):
        return [as_json(v) for v in fields]
    if isinstance(fields, (bytes, bytearray)):
        return bytes(fields).hex()
    return fields


def indefinite(obj):
    """CBOR with every map and array indefinite-length, as Zephyr's zcbor writes them."""
    if isinstance(obj, dict):
        return b"\xbf" + b"".join(indefinite(k) + indefinite(v) for k, v in obj.items()) + b"\xff"
    if isinstance(obj, list):
        return b"\x9f" + b"".join(indefinite(v) for v in obj) + b"\xff"
    return cbor2.dumps(obj)


def shuffled(obj, rng):
    if isinstance(obj, dict):
        items = [(k, shuffled(v, rng)) for k, v in obj.items()]
        rng.shuffle(items)
        return dict(items)
    if isinstance(obj, list):
        return [shuffled(v, rng) for v in obj]
    return obj


def with_unknown(obj):
    """Unknown keys, nested, at every map level."""
    if isinstance(obj, dict):
        out = {k: with_unknown(v) for k, v in obj.items()}
        out["x-vendor"] = {"nested": [1, {"deep": b"\x00"}], "n": -5}
        return out
    if isinstance(obj, list):
        return [with_unknown(v) for v in obj]
    return obj


def frame_of(hdr_from, body: bytes):
    """A frame with the header of an smp message and a replacement CBOR body."""
    h = bytearray(bytes(hdr_from)[:8])
    h[2:4] = len(body).to_bytes(2, "big")
    return bytes(h) + body


# ---- client direction: our requests decode in `smp` ----------------------------------------

REQUESTS = [
    ("os_echo", {"d": "hello"}, osm.EchoWriteRequest, 0, 0, smph.OP.WRITE),
    ("os_reset", {}, osm.ResetWriteRequest, 0, 5, smph.OP.WRITE),
    ("os_reset", {"force": True}, osm.ResetWriteRequest, 0, 5, smph.OP.WRITE),
    ("os_params", {}, osm.MCUMgrParametersReadRequest, 0, 6, smph.OP.READ),
    ("os_info", {"format": "sv"}, osm.OSApplicationInfoReadRequest, 0, 7, smph.OP.READ),
    ("os_info", {}, osm.OSApplicationInfoReadRequest, 0, 7, smph.OP.READ),
    ("os_bootloader", {"query": "mode"}, osm.BootloaderInformationReadRequest, 0, 8, smph.OP.READ),
    ("img_state_read", {}, im.ImageStatesReadRequest, 1, 0, smph.OP.READ),
    ("img_state_write", {"hash": HASH, "confirm": False}, im.ImageStatesWriteRequest, 1, 0,
     smph.OP.WRITE),
    ("img_state_write", {"confirm": True}, im.ImageStatesWriteRequest, 1, 0, smph.OP.WRITE),
    ("img_upload", {"image": 1, "len": 300000, "off": 0, "sha": SHA, "data": b"\x3d\xb8\xf3\x96" * 8,
                    "upgrade": True}, im.ImageUploadWriteRequest, 1, 1, smph.OP.WRITE),
    ("img_upload", {"off": 70000, "data": bytes(range(256)) * 3}, im.ImageUploadWriteRequest, 1, 1,
     smph.OP.WRITE),
    ("img_erase", {"slot": 3}, im.ImageEraseRequest, 1, 5, smph.OP.WRITE),
    ("img_erase", {}, im.ImageEraseRequest, 1, 5, smph.OP.WRITE),
    ("img_slot_info", {}, None, 1, 6, smph.OP.READ),
]


@pytest.mark.parametrize("version", [0, 1])
@pytest.mark.parametrize("msg,fields,cls,group,cid,op", REQUESTS)
def test_request_decodes_in_smp(msg, fields, cls, group, cid, op, version):
    frame = c_enc_req(msg, fields, version=version, seq=201)
    body = cbor2.loads(frame[8:])
    # Exactly the keys we meant to send, with these values.
    assert body == fields
    # Header fields by hand: smp's Header does not know slot info (command 6).
    assert frame[0] == (version << 3 | op)
    assert frame[1] == 0
    assert int.from_bytes(frame[2:4], "big") == len(frame) - 8
    assert int.from_bytes(frame[4:6], "big") == group
    assert (frame[6], frame[7]) == (201, cid)
    if cls is None:
        return
    hdr = smph.Header.loads(frame[:8])
    assert (hdr.op, hdr.version, hdr.group_id, hdr.command_id) == (op, version, group, cid)
    m = cls.loads(frame)
    for k, v in fields.items():
        assert getattr(m, k) == v, k


# ---- client direction: `smp` responses decode in C ------------------------------------------

STATE_IMAGES = [
    {"slot": 0, "version": "1.2.3", "hash": HASH, "bootable": True, "pending": False,
     "confirmed": True, "active": True, "permanent": False},
    {"image": 0, "slot": 1, "version": "1.2.4.5", "hash": SHA, "bootable": True,
     "pending": True, "confirmed": False, "active": False, "permanent": False},
]

RESPONSES = [
    ("os_echo", osm.EchoWriteResponse, {"r": "hello"}),
    ("os_reset", osm.ResetWriteResponse, {}),
    ("os_params", osm.MCUMgrParametersReadResponse, {"buf_size": 2475, "buf_count": 4}),
    ("os_info", osm.OSApplicationInfoReadResponse, {"output": "Zephyr unknown 4.4.0 \"q\""}),
    ("os_bootloader", osm.BootloaderInformationReadResponse, {"bootloader": "MCUboot"}),
    ("img_state_read", im.ImageStatesReadResponse, {"images": STATE_IMAGES, "splitStatus": 0}),
    ("img_state_write", im.ImageStatesWriteResponse, {"images": STATE_IMAGES[:1]}),
    ("img_upload", im.ImageUploadWriteResponse, {"off": 4096}),
    ("img_upload", im.ImageUploadWriteResponse, {"off": 300000, "match": True}),
    ("img_erase", im.ImageEraseResponse, {}),
]


def c_view(fields):
    """What our decoder reports: optional flags absent in a frugal list read as false."""
    j = as_json(fields)
    if "splitStatus" in j and j["splitStatus"] is None:
        del j["splitStatus"]
    return j


def expected_body(msg, fields):
    j = as_json(fields)
    if msg.startswith("img_state"):
        for img in j["images"]:
            for flag in ("bootable", "pending", "confirmed", "active", "permanent"):
                img.setdefault(flag, False)
    return j


@pytest.mark.parametrize("msg,cls,fields", RESPONSES)
def test_smp_response_decodes_in_c(msg, cls, fields):
    rsp = cls(**fields, sequence=7)
    out = c_dec("dec-rsp", msg, rsp.BYTES)
    assert out["hdr"]["seq"] == 7
    assert out["body"] == expected_body(msg, fields)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("msg,cls,fields", RESPONSES)
def test_zephyr_style_response_decodes_in_c(msg, cls, fields, seed):
    """Same responses, as a Zephyr server writes them: indefinite maps, any key order,
    unknown keys at every level."""
    rsp = cls(**fields, sequence=7)
    body = shuffled(with_unknown(cbor2.loads(rsp.BYTES[8:])), random.Random(seed))
    for enc in (indefinite(body), cbor2.dumps(body)):
        out = c_dec("dec-rsp", msg, frame_of(rsp.BYTES, enc))
        assert out["body"] == expected_body(msg, fields)


def test_frugal_image_list():
    """CONFIG_MCUMGR_GRP_IMG_FRUGAL_LIST leaves false flags out; absent reads as false."""
    rsp = im.ImageStatesReadResponse(images=[{"slot": 0, "version": "0.0.0", "hash": HASH,
                                              "active": True}])
    out = c_dec("dec-rsp", "img_state_read", rsp.BYTES)
    img = out["body"]["images"][0]
    assert img["active"] is True
    assert img["pending"] is False and img["confirmed"] is False


ERRORS = [
    (im.ImageManagementErrorV1, {"rc": 3}, {"rc": 3}),
    (osm.OSManagementErrorV1, {"rc": 6, "rsn": "downgrade"}, {"rc": 6, "rsn": "downgrade"}),
    (im.ImageManagementErrorV2, {"err": {"group": 1, "rc": 9}}, {"err": {"group": 1, "rc": 9}}),
    (osm.OSManagementErrorV2, {"err": {"group": 0, "rc": 2}}, {"err": {"group": 0, "rc": 2}}),
]


@pytest.mark.parametrize("cls,fields,want", ERRORS)
def test_smp_errors_decode_in_c(cls, fields, want):
    is_os = cls.__module__.endswith("os_management")
    hdr = (osm.EchoWriteResponse(r="") if is_os else im.ImageUploadWriteResponse(off=0)).BYTES
    for enc in (cbor2.dumps(fields), indefinite(fields)):
        frame = frame_of(hdr, enc)
        cls.loads(frame)  # smp agrees this is a well-formed error of that kind
        out = c_dec("dec-rsp", "os_echo" if is_os else "img_upload", frame)
        assert out["body"] == want


def test_slot_info_and_bootloader_mode():
    body = {"images": [{"image": 0, "slots": [{"slot": 0, "size": 0x74000},
                                              {"slot": 1, "size": 0x74000, "upload_image_id": 0}],
                        "max_image_size": 0x73000},
                       {"image": 1, "slots": [{"slot": 0, "size": 0x30000},
                                              {"slot": 1, "size": 0x30000}]}]}
    hdr = im.ImageStatesReadResponse(images=[]).BYTES
    for enc in (cbor2.dumps(body), indefinite(shuffled(body, random.Random(1)))):
        out = c_dec("dec-rsp", "img_slot_info", frame_of(hdr, enc))
        assert out["body"] == body
    mode = {"mode": 3, "no-downgrade": True}
    out = c_dec("dec-rsp", "os_bootloader", frame_of(hdr, indefinite(mode)))
    assert out["body"] == mode


# ---- server direction: `smp` requests decode in C ---------------------------------------

SMP_REQUESTS = [
    ("os_echo", osm.EchoWriteRequest(d="ping"), {"d": "ping"}),
    ("os_reset", osm.ResetWriteRequest(force=1), {"force": True}),
    ("os_reset", osm.ResetWriteRequest(boot_mode=1), {"boot_mode": 1}),
    ("os_params", osm.MCUMgrParametersReadRequest(), {}),
    ("os_info", osm.OSApplicationInfoReadRequest(format="a"), {"format": "a"}),
    ("os_bootloader", osm.BootloaderInformationReadRequest(query="mode"), {"query": "mode"}),
    ("img_state_read", im.ImageStatesReadRequest(), {}),
    ("img_state_write", im.ImageStatesWriteRequest(hash=HASH), {"hash": HASH, "confirm": False}),
    ("img_state_write", im.ImageStatesWriteRequest(confirm=True), {"confirm": True}),
    ("img_upload", im.ImageUploadWriteRequest(off=0, data=b"\x01" * 40, image=1, len=1000,
                                              sha=SHA, upgrade=True),
     {"image": 1, "data": b"\x01" * 40, "len": 1000, "off": 0, "sha": SHA, "upgrade": True}),
    ("img_upload", im.ImageUploadWriteRequest(off=40, data=b"\x02" * 7),
     {"data": b"\x02" * 7, "off": 40}),
    ("img_erase", im.ImageEraseRequest(slot=1), {"slot": 1}),
]


@pytest.mark.parametrize("msg,req,fields", SMP_REQUESTS)
def test_smp_request_decodes_in_c(msg, req, fields):
    out = c_dec("dec-req", msg, req.BYTES)
    assert out["hdr"]["seq"] == req.header.sequence
    assert out["hdr"]["op"] == req.header.op
    want = as_json(fields)
    if msg == "img_state_write":
        want.setdefault("confirm", False)
    assert out["body"] == want
    # indefinite maps from a Zephyr client decode the same
    out = c_dec("dec-req", msg, frame_of(req.BYTES, indefinite(cbor2.loads(req.BYTES[8:]))))
    assert out["body"] == want


# ---- server direction: our responses decode in `smp` -------------------------------------

@pytest.mark.parametrize("msg,cls,fields", RESPONSES)
@pytest.mark.parametrize("version", [0, 1])
def test_c_response_decodes_in_smp(msg, cls, fields, version):
    req_op = 2 if msg in ("os_echo", "os_reset", "img_state_write", "img_upload", "img_erase") else 0
    group = 1 if msg.startswith("img") else 0
    cid = {"os_echo": 0, "os_reset": 5, "os_params": 6, "os_info": 7, "os_bootloader": 8,
           "img_state_read": 0, "img_state_write": 0, "img_upload": 1, "img_erase": 5}[msg]
    req_hdr = bytes([version << 3 | req_op, 0, 0, 0, 0, group, 99, cid])
    frame = bytes.fromhex(tool("enc-rsp", msg, req_hdr.hex(), *flatten(fields)))
    m = cls.loads(frame)
    assert m.header.op == req_op + 1
    assert m.header.sequence == 99
    assert m.header.version == version
    body = cbor2.loads(frame[8:])
    assert body == expected_body(msg, fields) | ({} if "images" not in fields else {
        "images": [dict(i, hash=bytes.fromhex(i["hash"])) for i in expected_body(msg, fields)["images"]]})
    for k, v in fields.items():
        if k == "images":
            assert [i.model_dump(exclude_none=True) for i in m.images] == [
                {**img, **{f: img.get(f, False) for f in
                           ("bootable", "pending", "confirmed", "active", "permanent")}}
                for img in v]
        else:
            assert getattr(m, k) == v


@pytest.mark.parametrize("version", [0, 1])
def test_c_errors_decode_in_smp(version):
    req_hdr = bytes([version << 3 | 2, 0, 0, 0, 0, 1, 5, 1]).hex()
    frame = bytes.fromhex(tool("enc-err", req_hdr, "rc=6", "rsn=downgrade"))
    e = im.ImageManagementErrorV1.loads(frame)
    assert (e.rc, e.rsn, e.header.version) == (6, "downgrade", version)
    frame = bytes.fromhex(tool("enc-err", req_hdr, "err.group=1", "err.rc=28"))
    e2 = im.ImageManagementErrorV2.loads(frame)
    assert e2.err.group == 1 and e2.err.rc == im.IMG_MGMT_ERR.IMAGE_ALREADY_PENDING


# ---- upload sizing, checked with smp's encoder -------------------------------------------

@pytest.mark.parametrize("first", [True, False])
@pytest.mark.parametrize("frame_size", [64, 96, 127, 128, 280, 384, 512, 2048, 2475, 8192, 65000])
def test_max_data_fills_frame_exactly(frame_size, first):
    extra = {"image": 0, "len": 524288, "sha": SHA, "upgrade": False} if first else {}
    off = 0 if first else 262144
    n = int(tool("max-data", frame_size, f"off={off}", *flatten(extra)))

    def size(k):
        return len(im.ImageUploadWriteRequest(off=off, data=b"\xa5" * k, **extra).BYTES)

    if n < 0:
        assert n == -28  # SMPFOTA_ERR_NOSPC: not even an empty chunk fits
        assert size(0) > frame_size
    else:
        assert size(n) <= frame_size < size(n + 1)
