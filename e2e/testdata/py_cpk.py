"""Customer-provided keys with the official Python SDK (HTTPS only)."""
import base64
import hashlib
import os

from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient, CustomerProvidedEncryptionKey


def check(name, cond):
    if not cond:
        raise AssertionError(name)
    print("ok", name)


def cpk(raw):
    return CustomerProvidedEncryptionKey(key_value=base64.b64encode(raw).decode(),
                                         key_hash=base64.b64encode(hashlib.sha256(raw).digest()).decode())


a, b = cpk(b"\x11" * 32), cpk(b"\x22" * 32)
bsc = BlobServiceClient.from_connection_string(os.environ["ATREST_CONN"], max_single_put_size=1 << 20, max_block_size=1 << 20)
cc = bsc.create_container("pycpk")
bc = cc.get_blob_client("b")
data = os.urandom(3 * (1 << 20) + 17)
r = bc.upload_blob(data, cpk=a, metadata={"k": "v"})
check("write echoes key hash", r["encryption_key_sha256"] == a.key_hash and r["request_server_encrypted"])
check("download with key", bc.download_blob(cpk=a).readall() == data)
check("ranged download with key", bc.download_blob(cpk=a, offset=1 << 20, length=5).readall() == data[1 << 20:(1 << 20) + 5])
props = bc.get_blob_properties(cpk=a)
check("properties with key", props.encryption_key_sha256 == a.key_hash and props.metadata == {"k": "v"} and props.server_encrypted)
for name, kwargs, code in [("no key", {}, "BlobUsesCustomerSpecifiedEncryption"),
                           ("wrong key", {"cpk": b}, "BlobCustomerSpecifiedEncryptionMismatch")]:
    try:
        bc.download_blob(**kwargs).readall()
        raise AssertionError(name + " downloaded")
    except HttpResponseError as e:
        check(name + " refused with " + code, e.error_code == code and e.status_code == 409)
print("python cpk: all checks passed")
