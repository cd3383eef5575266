"""The NCS master's Bluetooth LE glue, checked without Zephyr (nothing here builds it):
the UUIDs it uses are the library's, every Zephyr call and Bluetooth symbol it and the sample
use is in the module's API ledger (docs/ncs.md), and the sample's BLE configuration names
options that exist.
"""
from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2]
GLUE = SRC / "zephyr" / "src" / "gatt_central.c"
MASTER = SRC / "samples" / "ncs" / "master"


def le_bytes(encode_args: str) -> list[int]:
    """BT_UUID_128_ENCODE(w32, w1, w2, w3, w48) as the 16 bytes on the air."""
    w = [int(x, 16) for x in encode_args.split(",")]
    be = (w[0].to_bytes(4, "big") + w[1].to_bytes(2, "big") + w[2].to_bytes(2, "big") +
          w[3].to_bytes(2, "big") + w[4].to_bytes(6, "big"))
    return list(reversed(be))


def header_uuid(name: str) -> list[int]:
    text = (SRC / "include" / "smpfota" / "gatt.h").read_text()
    body = re.search(rf"#define {name}\s*\\?\s*\{{([^}}]*)\}}", text).group(1)
    return [int(x, 16) for x in re.findall(r"0x[0-9a-fA-F]+", body)]


def test_glue_uuids_are_the_library_s():
    text = GLUE.read_text()
    uuids = re.findall(r"BT_UUID_128_ENCODE\(([^)]*)\)", text)
    assert le_bytes(uuids[0]) == header_uuid("SMPFOTA_GATT_SVC_UUID_LE")
    assert le_bytes(uuids[1]) == header_uuid("SMPFOTA_GATT_CHR_UUID_LE")


def ble_ledger() -> str:
    text = (SRC / "docs" / "ncs.md").read_text()
    return text[text.index("### Bluetooth LE central"):]


def test_every_zephyr_call_is_in_the_ledger():
    ledger = ble_ledger()
    code = GLUE.read_text() + (MASTER / "src" / "main.c").read_text()
    calls = set(re.findall(r"\b((?:bt|k)_[a-z0-9_]+)\(", code))
    macros = set(re.findall(r"\b(BT_[A-Z0-9_]+)\b", code)) - {
        "BT_SMP", "BT_USER_DATA_LEN_UPDATE", "BT_USER_PHY_UPDATE"}
    missing = sorted(n for n in calls | macros if n not in ledger and
                     not n.startswith(("k_work_queue_", "k_mutex_", "k_spin_")))
    assert not missing, f"not in docs/ncs.md's ledger: {missing}"


def test_every_callback_and_connection_field_is_in_the_ledger():
    """The connection callbacks the glue registers and the fields it reads from Zephyr's
    connection info are ledgered too (a renamed field, such as Zephyr 4.4's interval_us, is a
    build break the ledger must name)."""
    ledger = ble_ledger()
    code = GLUE.read_text()
    block = re.search(r"BT_CONN_CB_DEFINE\([^)]*\)\s*=\s*\{(.*?)\};", code, re.S).group(1)
    callbacks = set(re.findall(r"\.(\w+)\s*=", block))
    assert {"connected", "disconnected", "le_param_updated"} <= callbacks
    fields = set(re.findall(r"\binfo(?:\.\w+)+(?:->\w+)?|\binfo->\w+", code))
    assert "info.le.interval_us" in fields
    missing = sorted([f".{c}" for c in callbacks if f".{c}(" not in ledger] +
                     [f for f in fields if f"`{f}`" not in ledger and f"{f}`" not in ledger
                      and f"{f} " not in ledger])
    assert not missing, f"not in docs/ncs.md's ledger: {missing}"


def test_every_bluetooth_option_is_in_the_ledger():
    ledger = ble_ledger()
    conf = "".join((MASTER / f).read_text() for f in
                   ("overlay-ble.conf", "sysbuild-ble.conf", "sysbuild/ipc_radio.conf"))
    names = set(re.findall(r"^((?:SB_)?CONFIG_BT\w*|SB_CONFIG_NETCORE_IPC_RADIO\w*)=", conf, re.M))
    assert names
    missing = sorted(n for n in names if f"`{n}`" not in ledger and f"{n}`" not in ledger)
    assert not missing, f"not in docs/ncs.md's ledger: {missing}"


def test_ble_configuration_names_options_that_exist():
    def symbols(path: Path) -> set[str]:
        return set(re.findall(r"^\s*(?:menu)?config\s+(\w+)", path.read_text(), re.M))
    ours = symbols(SRC / "zephyr" / "Kconfig") | symbols(MASTER / "Kconfig")
    for line in (MASTER / "overlay-ble.conf").read_text().splitlines():
        m = re.match(r"CONFIG_(SMPFOTA_\w+)=", line)
        if m:
            assert m.group(1) in ours, line
    sb = (MASTER / "sysbuild-ble.conf").read_text()
    assert "SB_CONFIG_NETCORE_IPC_RADIO=y" in sb
    assert "SMPFOTA_ESB" not in sb  # the controller, not the ESB image, on the network core
    main = (MASTER / "src" / "main.c").read_text()
    assert "CONFIG_SMPFOTA_MASTER_LINK_BLE" in main


def test_controller_data_length_fits_its_acl_buffers():
    """Zephyr's controller Kconfig caps BT_CTLR_DATA_LENGTH_MAX at BT_BUF_ACL_RX_SIZE while that
    is below 251, and BT_BUF_ACL_RX_SIZE is 27 in an image without BT_SMP (the controller's):
    the controller image must raise its ACL buffers with the data length (docs/ncs.md)."""
    conf = dict(re.findall(r"^CONFIG_(\w+)=(\d+)$",
                           (MASTER / "sysbuild" / "ipc_radio.conf").read_text(), re.M))
    dle = int(conf["BT_CTLR_DATA_LENGTH_MAX"])
    assert dle == 251  # the glue asks for 251-octet PDUs (docs/ble.md)
    assert int(conf.get("BT_BUF_ACL_RX_SIZE", 27)) >= dle
    assert int(conf.get("BT_BUF_ACL_TX_SIZE", 27)) >= dle
