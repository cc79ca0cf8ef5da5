"""Drives atrest's Queue service with the official Python SDK (azure-storage-queue).

Run by e2e/pyqueue_test.go with ATREST_CONN set to a connection string.
Prints one line per check; any failure raises and exits non-zero.
"""
import os
import time

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import (BinaryBase64DecodePolicy, BinaryBase64EncodePolicy, QueueClient, QueueServiceClient,
                                 TextBase64DecodePolicy, TextBase64EncodePolicy)

conn = os.environ["ATREST_CONN"]
canary = os.environ.get("ATREST_CANARY", "py-canary")
qsc = QueueServiceClient.from_connection_string(conn)


def check(name, cond):
    if not cond:
        raise AssertionError(name)
    print("ok", name)


# queues: create with metadata, idempotent create, conflict, list in pages
for i in range(5):
    qsc.create_queue("pyq-%d" % i, metadata={"n": str(i)})
try:
    # Azure answers 204 for an existing queue with equal metadata, which
    # this client reports as an error of its own
    qsc.get_queue_client("pyq-0").create_queue(metadata={"n": "0"})
    raise AssertionError("second create not reported")
except ResourceExistsError as e:
    check("create with equal metadata answers 204", e.status_code == 204)
try:
    qsc.create_queue("pyq-0", metadata={"n": "other"})
    raise AssertionError("conflicting create accepted")
except ResourceExistsError as e:
    check("conflicting create is QueueAlreadyExists", e.status_code == 409 and e.error_code == "QueueAlreadyExists")
names, npages = [], 0
for page in qsc.list_queues(name_starts_with="pyq-", include_metadata=True, results_per_page=2).by_page():
    npages += 1
    for q in page:
        names.append(q.name)
        check("queue metadata " + q.name, q.metadata == {"n": q.name[-1]})
check("queue paging", names == ["pyq-%d" % i for i in range(5)] and npages == 3)

q = qsc.get_queue_client("pyq-0")
q.set_queue_metadata({"owner": canary})
props = q.get_queue_properties()
check("queue metadata round trip", props.metadata == {"owner": canary})

# put, peek, receive with visibility timeouts, pop receipts, dequeue counts
text = "hello <queue> & \"friends\" " + canary
sent = q.send_message(text)
check("send returns id and receipt", sent.id and sent.pop_receipt and sent.inserted_on and sent.expires_on)
q.send_message("forever", time_to_live=-1)
q.send_message("later", visibility_timeout=3600)
check("approximate count", q.get_queue_properties().approximate_message_count == 3)
peeked = q.peek_messages(max_messages=32)
check("peek sees visible messages in order", [m.content for m in peeked] == [text, "forever"])
check("peek leaves dequeue count", peeked[0].dequeue_count == 0 and peeked[1].expires_on.year == 9999)

first = next(iter(q.receive_messages(visibility_timeout=1)))
check("receive oldest", first.id == sent.id and first.content == text and first.dequeue_count == 1)
page = list(q.receive_messages(messages_per_page=32, visibility_timeout=1, max_messages=32))
check("others hidden while invisible", [m.content for m in page] == ["forever"])
time.sleep(1.2)
again = list(q.receive_messages(messages_per_page=32, visibility_timeout=30, max_messages=32))
check("messages reappear after their timeout", sorted(m.content for m in again) == sorted([text, "forever"]))
m = [x for x in again if x.id == sent.id][0]
check("dequeue count rises per timeout", m.dequeue_count == 2)
try:
    q.delete_message(first.id, first.pop_receipt)
    raise AssertionError("stale pop receipt accepted")
except ResourceNotFoundError as e:
    check("stale pop receipt is MessageNotFound", e.error_code == "MessageNotFound")
upd = q.update_message(m, pop_receipt=m.pop_receipt, content="updated " + canary, visibility_timeout=0)
check("update returns new receipt", upd.pop_receipt != m.pop_receipt)
check("updated text visible", [x.content for x in q.peek_messages()] == ["updated " + canary])
q.delete_message(m.id, upd.pop_receipt)
check("deleted with current receipt", q.get_queue_properties().approximate_message_count == 2)

# the 64 KiB limit
q.send_message("x" * 65536)
try:
    q.send_message("x" * 65537)
    raise AssertionError("oversized message accepted")
except HttpResponseError as e:
    check("oversized message refused", e.error_code == "RequestBodyTooLarge" and e.status_code == 413)
check("nothing lost to the refusal", q.get_queue_properties().approximate_message_count == 3)
q.clear_messages()
check("clear", q.peek_messages(max_messages=32) == [])

# message encodings: base64 of text and of bytes
qsc.create_queue("pyq-b64")
tq = QueueClient.from_connection_string(conn, "pyq-b64", message_encode_policy=TextBase64EncodePolicy(),
                                        message_decode_policy=TextBase64DecodePolicy())
tq.send_message("text in base64 " + canary)
check("base64 text", tq.receive_message().content == "text in base64 " + canary)
bq = QueueClient.from_connection_string(conn, "pyq-b64", message_encode_policy=BinaryBase64EncodePolicy(),
                                        message_decode_policy=BinaryBase64DecodePolicy())
blob = bytes(range(256)) * 4
bq.send_message(blob)
got = bq.receive_message()
check("base64 bytes", got.content == blob)
bq.delete_message(got)

# a message for the canary scan, then delete a queue
qsc.get_queue_client("pyq-1").send_message("left behind " + canary)
qsc.delete_queue("pyq-0")
try:
    q.get_queue_properties()
    raise AssertionError("deleted queue still there")
except ResourceNotFoundError as e:
    check("queue deleted", e.error_code == "QueueNotFound")
print("python queue: all checks passed")
