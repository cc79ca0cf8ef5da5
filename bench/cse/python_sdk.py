"""Times the Python SDK's own blob encryption functions (azure.storage.blob._encryption) on the same data
layout the Go harness uses: encrypt_blob (protocol 2.0, 4 MiB AES-GCM regions) and decrypt_blob, in memory.

Usage: python3 python_sdk.py SIZE_BYTES. Prints "encrypt SECONDS" and "decrypt SECONDS".
"""
import os
import sys
import time

from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap
from azure.storage.blob._encryption import decrypt_blob, encrypt_blob


class KEK:
    def __init__(self):
        self.key = os.urandom(32)

    def wrap_key(self, key):
        return aes_key_wrap(self.key, key)

    def unwrap_key(self, key, algorithm):
        return aes_key_unwrap(self.key, key)

    def get_kid(self):
        return "local:bench"

    def get_key_wrap_algorithm(self):
        return "A256KW"


size = int(sys.argv[1])
region = os.urandom(4 << 20)
data = (region * (size // len(region) + 1))[:size]
kek = KEK()
best_enc = best_dec = None
for _ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 1):
    t = time.perf_counter()
    meta, ct = encrypt_blob(data, kek, "2.0")
    e = time.perf_counter() - t
    t = time.perf_counter()
    pt = decrypt_blob(True, kek, None, ct, 0, size, {"x-ms-meta-encryptiondata": meta})
    d = time.perf_counter() - t
    assert len(pt) == size and pt[:64] == data[:64]
    del ct, pt
    best_enc = e if best_enc is None else min(best_enc, e)
    best_dec = d if best_dec is None else min(best_dec, d)
print("encrypt", best_enc)
print("decrypt", best_dec)
