"""Loaded by Python processes the tests start: any network connection attempt fails them."""

import socket
import sys

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _refuse(self, address, *args):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        sys.stderr.write(f"NETWORK CONNECTION ATTEMPTED to {address!r}\n")
        sys.stderr.flush()
        raise SystemExit(99)
    return _real_connect(self, address, *args)


def _refuse_ex(self, address, *args):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _refuse(self, address)
    return _real_connect_ex(self, address, *args)


socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse_ex
