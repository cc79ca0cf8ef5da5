"""Drives atrest's Blob service with the official Python SDK (azure-storage-blob).

Run by e2e/python_test.go with ATREST_CONN set to a connection string.
Prints one line per check; any failure raises and exits non-zero.
"""
import hashlib
import os
import sys

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import BlobBlock, BlobServiceClient, ContentSettings

conn = os.environ["ATREST_CONN"]
canary = os.environ.get("ATREST_CANARY", "py-canary")
# small thresholds force Put Block + Put Block List and chunked downloads
bsc = BlobServiceClient.from_connection_string(conn, max_single_put_size=1 << 20, max_block_size=1 << 20,
                                                max_single_get_size=1 << 20, max_chunk_get_size=1 << 20)


def check(name, cond):
    if not cond:
        raise AssertionError(name)
    print("ok", name)


def data(n, seed):
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(seed.encode() + i.to_bytes(8, "big")).digest()
        i += 1
    return bytes(out[:n])


# containers: create, duplicate, list with prefix and paging, metadata
for i in range(5):
    bsc.create_container("pyc-%d" % i, metadata={"n": str(i)})
try:
    bsc.create_container("pyc-0")
    raise AssertionError("duplicate container accepted")
except ResourceExistsError:
    check("duplicate container is ResourceExistsError", True)
pages = bsc.list_containers(name_starts_with="pyc-", include_metadata=True, results_per_page=2).by_page()
names = []
npages = 0
for page in pages:
    npages += 1
    for c in page:
        names.append(c.name)
        check("container metadata " + c.name, c.metadata == {"n": c.name[-1]})
check("container paging", names == ["pyc-%d" % i for i in range(5)] and npages == 3)
cc = bsc.get_container_client("pyc-0")
cc.set_container_metadata({"owner": canary})
check("container metadata round trip", cc.get_container_properties().metadata == {"owner": canary})

# single-shot upload with content settings, metadata and MD5 validation
bc = cc.get_blob_client("dir/hello.txt")
body = ("hello from python " + canary).encode()
r = bc.upload_blob(body, overwrite=True, metadata={"secret": canary},
                   content_settings=ContentSettings(content_type="text/plain", content_language="en"),
                   validate_content=True)
check("upload reports server encryption", r["request_server_encrypted"])
props = bc.get_blob_properties()
check("blob properties", props.size == len(body) and props.content_settings.content_type == "text/plain"
      and props.content_settings.content_language == "en" and props.metadata == {"secret": canary}
      and props.server_encrypted and props.blob_type == "BlockBlob")
check("stored MD5", bytes(props.content_settings.content_md5) == hashlib.md5(body).digest())
check("download", bc.download_blob().readall() == body)
check("download with validate_content", bc.download_blob(validate_content=True).readall() == body)
check("ranged download", bc.download_blob(offset=6, length=4).readall() == body[6:10])
bc.set_blob_metadata({"k": "v"})
check("set metadata", bc.get_blob_properties().metadata == {"k": "v"})
bc.set_http_headers(ContentSettings(content_type="application/json"))
check("set http headers", bc.get_blob_properties().content_settings.content_type == "application/json")

# overwrite=False on an existing blob
try:
    bc.upload_blob(b"x", overwrite=False)
    raise AssertionError("overwrite=False replaced a blob")
except ResourceExistsError:
    check("overwrite=False refused", True)

# block upload: 5 MiB in 1 MiB blocks, chunked and ranged download
big = data(5 * (1 << 20) + 333, "py-big")
bb = cc.get_blob_client("big.bin")
bb.upload_blob(big, overwrite=True, max_concurrency=2, validate_content=True)
committed, uncommitted = bb.get_block_list("all")
check("block upload used blocks", len(committed) == 6 and len(uncommitted) == 0)
check("chunked download", bb.download_blob(max_concurrency=2).readall() == big)
check("range across blocks", bb.download_blob(offset=(1 << 20) - 10, length=3 << 20).readall() == big[(1 << 20) - 10:(4 << 20) - 10])

# explicit blocks
eb = cc.get_blob_client("explicit")
eb.stage_block("YmxvY2sx", b"one;")
eb.stage_block("YmxvY2sy", b"two;")
eb.commit_block_list([BlobBlock("YmxvY2sy"), BlobBlock("YmxvY2sx")])
check("commit block list order", eb.download_blob().readall() == b"two;one;")
try:
    eb.commit_block_list([BlobBlock("bm9wZQ==")])
    raise AssertionError("unknown block committed")
except HttpResponseError as e:
    check("invalid block list", e.error_code == "InvalidBlockList")

# empty blob: the SDK's first ranged GET gets 416 and falls back
empty = cc.get_blob_client("empty")
empty.upload_blob(b"", overwrite=True)
check("empty blob download", empty.download_blob().readall() == b"")

# conditional requests
etag = bc.get_blob_properties().etag
bc.set_blob_metadata({"c": "1"}, etag=etag, match_condition=MatchConditions.IfNotModified)
try:
    bc.set_blob_metadata({"c": "2"}, etag=etag, match_condition=MatchConditions.IfNotModified)
    raise AssertionError("stale etag accepted")
except ResourceModifiedError:
    check("stale etag refused", True)

# listing flat and hierarchical
for i in range(4):
    cc.upload_blob("tree/a/%d" % i, b"x")
cc.upload_blob("tree/b", b"x")
flat = [b.name for b in cc.list_blobs(name_starts_with="tree/", results_per_page=2)]
check("flat listing", flat == ["tree/a/0", "tree/a/1", "tree/a/2", "tree/a/3", "tree/b"])
walked = [b.name for b in cc.walk_blobs(name_starts_with="tree/", delimiter="/")]
check("hierarchical listing", walked == ["tree/a/", "tree/b"])

# leases
lease = bc.acquire_lease(lease_duration=15)
try:
    bc.set_blob_metadata({"x": "y"})
    raise AssertionError("write without lease id accepted")
except HttpResponseError as e:
    check("lease id missing", e.error_code == "LeaseIdMissing")
bc.set_blob_metadata({"x": "y"}, lease=lease)
lease.renew()
lease.release()
check("lease released", bc.get_blob_properties().lease.state == "available")

# snapshots and copy
snap = bc.create_snapshot()
bc.upload_blob(b"changed", overwrite=True)
sc = cc.get_blob_client("dir/hello.txt", snapshot=snap["snapshot"])
check("snapshot keeps content", sc.download_blob().readall() == body)
copy = cc.get_blob_client("copy-of-snapshot")
cp = copy.start_copy_from_url(sc.url)
check("copy status", cp["copy_status"] == "success")
check("copy content", copy.download_blob().readall() == body)
bc.delete_blob(delete_snapshots="include")
try:
    sc.get_blob_properties()
    raise AssertionError("snapshot survived delete include")
except ResourceNotFoundError:
    check("delete with snapshots", True)

# append and page blobs
ab = cc.get_blob_client("log")
ab.create_append_blob()
ab.append_block(b"first;")
ab.append_block(b"second;", appendpos_condition=6)
check("append blob", ab.download_blob().readall() == b"first;second;")
pb = cc.get_blob_client("disk")
pb.create_page_blob(4096)
pb.upload_page(b"\x01" * 512, offset=1024, length=512)
ranges, _ = pb.get_page_ranges()
check("page ranges", ranges == [{"start": 1024, "end": 1535}])
content = pb.download_blob().readall()
check("page blob content", content == b"\x00" * 1024 + b"\x01" * 512 + b"\x00" * 2560)
pb.clear_page(offset=1024, length=512)
check("cleared page", pb.download_blob().readall() == b"\x00" * 4096)

# missing things
try:
    cc.get_blob_client("nope").download_blob()
    raise AssertionError("missing blob downloaded")
except ResourceNotFoundError as e:
    check("missing blob", e.error_code == "BlobNotFound")
bsc.delete_container("pyc-1")
try:
    bsc.get_container_client("pyc-1").get_container_properties()
    raise AssertionError("deleted container still there")
except ResourceNotFoundError:
    check("container deleted", True)
print("python blob: all checks passed")
