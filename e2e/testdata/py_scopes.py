# Encryption scopes through azure-storage-blob: encryption_scope= on
# writes, ContainerEncryptionScope on containers.
import os
import sys

from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient, ContainerEncryptionScope

conn = os.environ["ATREST_CONN"]
canary = os.environ["ATREST_CANARY"].encode()
bsc = BlobServiceClient.from_connection_string(conn)

cc = bsc.create_container("pyscoped", container_encryption_scope=ContainerEncryptionScope(
    default_encryption_scope="pyscope", prevent_encryption_scope_override=True))
props = cc.get_container_properties()
assert props.encryption_scope.default_encryption_scope == "pyscope", props.encryption_scope
assert props.encryption_scope.prevent_encryption_scope_override is True
print("ok container default scope")

bc = cc.get_blob_client("a")
r = bc.upload_blob(canary + b" python", overwrite=True)
assert r.get("encryption_scope") == "pyscope", r
assert bc.download_blob().readall() == canary + b" python"
assert bc.get_blob_properties().encryption_scope == "pyscope"
print("ok default scope applied")

try:
    cc.get_blob_client("b").upload_blob(b"y", encryption_scope="pyscope2")
    sys.exit("a write overrode a denied default scope")
except HttpResponseError as e:
    assert e.error_code == "EncryptionScopeOverrideDenied", e.error_code
print("ok override denied")

cc2 = bsc.create_container("pyopen")
b2 = cc2.get_blob_client("b")
b2.upload_blob(canary + b" second", encryption_scope="pyscope2")
assert b2.get_blob_properties().encryption_scope == "pyscope2"
items = list(cc2.list_blobs())
assert items[0].encryption_scope == "pyscope2", items[0]
print("ok per-write scope")
print("python scopes: all checks passed")
