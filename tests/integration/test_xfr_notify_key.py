# SPDX-License-Identifier: GPL-3.0-or-later
"""`notify:` entries as maps: { address: "ADDR@PORT", key: KEYID } signs the
NOTIFY with that key (RFC 8945) even when the secondary transfers with
another one.  A real Knot secondary accepts NOTIFY only with the notify
key; with the plain string form vaned would sign with the transfer key and
Knot would refuse it."""

import base64

from conftest import free_port, wait_until
from test_xfr import (SECRET, ZONE, KnotSecondary, XfrVaned, soa_serial,  # noqa: F401
                      started)

NOTIFY_SECRET = base64.b64encode(b"vane-notify-only-secret-00000003").decode()


class NotifyKeyVaned(XfrVaned):
    """vaned whose notify: entries are given as written (maps or strings),
    with a second key, notify-key, next to xfr-key."""

    def __init__(self, workdir, notify_yaml, **kw):
        self.notify_yaml = notify_yaml
        super().__init__(workdir, **kw)

    def conf_text(self):
        text = super().conf_text()
        lines = [line for line in text.split("\n") if not line.startswith("    notify:")]
        text = "\n".join(lines)
        text = text.replace("    allow-transfer:", "    notify: %s\n    allow-transfer:"
                            % self.notify_yaml, 1)
        return text.replace("keys:\n", "keys:\n  - id: notify-key\n    algorithm: hmac-sha256\n"
                            "    secret: \"%s\"\n" % NOTIFY_SECRET, 1)


def knot_with_notify_key(workdir, primary_port, port):
    """A Knot secondary that transfers with xfr-key but accepts NOTIFY only
    when signed with notify-key."""
    k = KnotSecondary(workdir, primary_port, port=port, start=False)
    conf = k.conf_path.read_text()
    conf = conf.replace("key:\n  - id: xfr-key\n", "key:\n  - id: notify-key\n"
                        "    algorithm: hmac-sha256\n    secret: %s\n  - id: xfr-key\n"
                        % NOTIFY_SECRET, 1)
    conf = conf.replace("    key: xfr-key\n    action: notify\n",
                        "    key: notify-key\n    action: notify\n", 1)
    assert "key: notify-key\n    action: notify" in conf
    k.conf_path.write_text(conf)
    k.start()
    return k


def secondary(v, target):
    return next((s for s in v.zone_status()["secondaries"] if s["target"] == target), None)


def test_notify_signed_with_its_own_key(tmp_path, started):
    kport = free_port()
    target = "127.0.0.1@%d" % kport
    v = NotifyKeyVaned(tmp_path / "vaned",
                       '[ { address: "%s", key: notify-key } ]' % target)
    started.append(v)
    k = knot_with_notify_key(tmp_path / "knot", v.port, kport)
    started.append(k)
    wait_until(lambda: soa_serial(k.port) == 1, "knot bootstrapped", timeout=15)

    v.set_zone(2, "192.0.2.81")
    v.reload()
    # Knot's refresh is an hour away: only an accepted NOTIFY brings serial 2.
    wait_until(lambda: soa_serial(k.port) == 2, "knot at serial 2 by NOTIFY", timeout=10)
    wait_until(lambda: (secondary(v, target) or {}).get("notify") == "acked",
               "NOTIFY acknowledged in zone-status", timeout=10)
    assert "NOTIFY serial 2 acknowledged by %s" % target in v.log()


def test_plain_notify_signed_with_the_transfer_key_is_refused(tmp_path, started):
    """The control: the string form signs with xfr-key (allow-transfer's),
    which this Knot does not accept for NOTIFY."""
    kport = free_port()
    target = "127.0.0.1@%d" % kport
    v = NotifyKeyVaned(tmp_path / "vaned", '[ "%s" ]' % target)
    started.append(v)
    k = knot_with_notify_key(tmp_path / "knot", v.port, kport)
    started.append(k)
    wait_until(lambda: soa_serial(k.port) == 1, "knot bootstrapped", timeout=15)
    v.set_zone(2, "192.0.2.81")
    v.reload()
    wait_until(lambda: (secondary(v, target) or {}).get("notify") == "failed",
               "NOTIFY refused", timeout=15)
    assert soa_serial(k.port) == 1
