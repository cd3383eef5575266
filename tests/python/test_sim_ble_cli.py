"""`smpfota sim --link ble` from the command line: the BLE options reach the model, the JSON
says which link ran with which parameters, bad values are usage errors.

The BLE model's behaviour is tested in C (tests/test_sim_ble.c).
Env: SMPFOTA_BUILD (dir with the `smpfota` binary), SMPFOTA_SRC (source root).
"""
from __future__ import annotations

import pytest
from sim_harness import sim, sim_image, sim_json


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return sim_image(tmp_path_factory.mktemp("simble"), size=60000, seed=4)


def test_ble_update_and_parameters_in_json(image):
    rc, d = sim_json("--image", image, "--link", "ble", "--scenario", "radio",
                     "--ble-interval", "15", "--ble-phy", "1", "--ble-dle", "27",
                     "--ble-mtu", "185", "--ble-encrypted", "--ble-trickle", "0")
    assert rc == 0 and d["ok"] and d["link"] == "ble"
    assert d["ble"] == {"interval_us": 15000, "event_len_us": 0, "pdus_per_event": 0,
                        "phy": 1, "dle": 27,
                        "att_mtu": 185, "reassembly": True, "encrypted": True,
                        "trickle_piece": 0}
    assert 0 < d["goodput_kBps"] <= d["limit_kBps"]
    assert d["stats"]["ble_events"] > 0 and d["stats"]["disconnects"] >= 1
    # the parameters change the limit
    _, fast = sim_json("--image", image, "--link", "ble", "--scenario", "radio")
    assert fast["radio_limit_kBps"] > d["radio_limit_kBps"]


def test_esb_json_says_esb(image):
    rc, d = sim_json("--image", image, "--scenario", "radio")
    assert rc == 0 and d["link"] == "esb" and "ble" not in d


def test_dropped_connection_from_the_cli(image):
    rc, d = sim_json("--image", image, "--link", "ble", "--ble-drop-at", "0.7")
    assert rc == 0 and d["ok"]
    assert d["stats"]["disconnects"] >= 2


def test_text_summary_names_the_link(image):
    p = sim("--image", image, "--link", "ble", "--ble-no-reassembly", "--quiet")
    assert p.returncode == 0, p.stderr
    assert "BLE LE 2M" in p.stdout and "no reassembly" in p.stdout


@pytest.mark.parametrize("bad", [["--link", "wifi"], ["--link", "ble", "--ble-phy", "3"],
                                 ["--link", "ble", "--ble-dle", "20"],
                                 ["--link", "ble", "--ble-mtu", "600"],
                                 ["--link", "ble", "--ble-interval", "7"]])
def test_bad_values_are_usage_errors(image, bad):
    p = sim("--image", image, *bad)
    assert p.returncode == 2
    assert p.stderr
