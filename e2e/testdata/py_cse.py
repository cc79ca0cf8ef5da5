"""Client-side encryption round trips between the official Python SDK and atrest's Go cse library.

Run by e2e/cse_blob_test.go. Environment: ATREST_CONN (connection string), ATREST_KEK (hex AES-256 key),
ATREST_KID (key id), ATREST_CONTAINER. argv[1] is the step:
  write  upload Python-encrypted blobs (2.0 multi-region, 2.0 small, 1.0) for Go to read
  read   download the Go-encrypted blobs and compare with the expected content
Prints one line per check; any failure raises and exits non-zero.
"""
import hashlib
import os
import sys

from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap
from azure.storage.blob import BlobServiceClient


class KEK:
    """The duck-typed key-encryption key the SDK calls."""

    def __init__(self, key, kid):
        self.key, self.kid = key, kid

    def wrap_key(self, key):
        return aes_key_wrap(self.key, key)

    def unwrap_key(self, key, algorithm):
        assert algorithm == "A256KW", algorithm
        return aes_key_unwrap(self.key, key)

    def get_kid(self):
        return self.kid

    def get_key_wrap_algorithm(self):
        return "A256KW"


def pattern(n, seed):
    """Same bytes as pattern() in the Go tests."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(seed.encode() + i.to_bytes(8, "little")).digest()
        i += 1
    return bytes(out[:n])


def check(name, cond):
    if not cond:
        raise AssertionError(name)
    print("ok", name)


MIB = 1 << 20
kek = KEK(bytes.fromhex(os.environ["ATREST_KEK"]), os.environ["ATREST_KID"])
# small thresholds force Put Block + Put Block List and chunked, ranged downloads
bsc = BlobServiceClient.from_connection_string(os.environ["ATREST_CONN"], max_single_put_size=MIB, max_block_size=MIB,
                                                max_single_get_size=MIB, max_chunk_get_size=MIB)
cc = bsc.get_container_client(os.environ["ATREST_CONTAINER"])


def client(name, version):
    bc = cc.get_blob_client(name)
    bc.require_encryption = True
    bc.key_encryption_key = kek
    bc.encryption_version = version
    return bc


step = sys.argv[1]
if step == "write":
    for name, n, version in [("py-v2-big", 9 * MIB + 5, "2.0"), ("py-v2-small", 1000, "2.0"), ("py-v1", 3 * MIB + 7, "1.0")]:
        client(name, version).upload_blob(pattern(n, name), overwrite=True, max_concurrency=2,
                                          metadata={"writer": "python"})
        check("python wrote " + name, True)
elif step == "read":
    for name, n in [("go-v2-big", 9 * MIB + 5), ("go-v2-small", 1000)]:
        data = pattern(n, name)
        bc = client(name, "2.0")
        check("python reads whole " + name, bc.download_blob().readall() == data)
        check("python reads metadata of " + name, bc.get_blob_properties().metadata.get("writer") == "go")
        for off, length in [(0, 1), (4 * MIB - 10, 100), (n - 7, 7), (MIB + 3, 5 * MIB)]:
            if off + length > n:
                continue
            got = bc.download_blob(offset=off, length=length).readall()
            check("python reads %s range %d+%d" % (name, off, length), got == data[off:off + length])
    data = pattern(2 * MIB + 3, "go-v1")
    check("python reads whole go-v1", client("go-v1", "1.0").download_blob().readall() == data)
    got = client("go-v1", "1.0").download_blob(offset=17, length=1000).readall()
    check("python reads go-v1 range away from the end", got == data[17:1017])
else:
    raise SystemExit("unknown step " + step)
print("python cse %s: all checks passed" % step)
