"""Stored access policies on queues and tables, and table SAS key ranges,
with the official Python SDKs (azure-storage-queue, azure-data-tables).

Run by e2e/sas_policy_qt_test.go with ATREST_CONN set to a connection
string. Prints one line per check; any failure raises and exits non-zero.
"""
import datetime
import os

from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.data.tables import TableAccessPolicy, TableClient, TableServiceClient, UpdateMode
from azure.data.tables import generate_table_sas
from azure.storage.queue import AccessPolicy, QueueClient, QueueSasPermissions, QueueServiceClient
from azure.storage.queue import generate_queue_sas

conn = os.environ["ATREST_CONN"]
parts = dict(p.split("=", 1) for p in conn.split(";") if p)
account, key = parts["AccountName"], parts["AccountKey"]
now = datetime.datetime.now(datetime.timezone.utc)


def check(name, cond):
    if not cond:
        raise AssertionError(name)
    print("ok", name)


def status(fn):
    try:
        fn()
        return 200
    except HttpResponseError as e:
        return e.status_code


# queue: a stored policy, a SAS naming it, revocation by replacing the ACL
qsc = QueueServiceClient.from_connection_string(conn)
q = qsc.create_queue("pypolicyq")
q.set_queue_access_policy({"workers": AccessPolicy(permission=QueueSasPermissions(read=True, process=True),
                                                   start=now - datetime.timedelta(minutes=1),
                                                   expiry=now + datetime.timedelta(hours=1))})
acl = q.get_queue_access_policy()
check("queue ACL round trip", list(acl) == ["workers"] and acl["workers"].permission == "rp")
q.send_message("for workers")
sas = generate_queue_sas(account, "pypolicyq", key, policy_id="workers")
worker = QueueClient(parts["QueueEndpoint"], "pypolicyq", credential=sas)
msgs = list(worker.receive_messages())
check("receive under the stored policy", [m.content for m in msgs] == ["for workers"])
check("send refused (policy has no add)", status(lambda: worker.send_message("x")) == 403)
q.set_queue_access_policy({})
check("policy removed: the SAS stops", status(lambda: list(worker.peek_messages())) == 403)

# table: a stored policy plus a key range carried by the SAS
tsc = TableServiceClient.from_connection_string(conn)
t = tsc.create_table("pyrangetable")
for pk, rk in [("A", "x"), ("M", "A"), ("M", "G"), ("P", "x"), ("S", "S"), ("S", "Z"), ("Z", "x")]:
    t.create_entity({"PartitionKey": pk, "RowKey": rk, "v": pk + rk})
t.set_table_access_policy({"editors": TableAccessPolicy(permission="raud", start=now - datetime.timedelta(minutes=1),
                                                        expiry=now + datetime.timedelta(hours=1))})
tacl = t.get_table_access_policy()
check("table ACL round trip", list(tacl) == ["editors"] and tacl["editors"].permission == "raud")
sas = generate_table_sas(AzureNamedKeyCredential(account, key), "pyrangetable", policy_id="editors",
                         start_pk="M", start_rk="F", end_pk="S", end_rk="T")
rc = TableClient(parts["TableEndpoint"], "pyrangetable", credential=AzureSasCredential(sas))
got = sorted(e["PartitionKey"] + e["RowKey"] for e in rc.list_entities())
check("query returns only the range", got == ["MG", "Px", "SS"])
check("point read inside", rc.get_entity("P", "x")["v"] == "Px")
try:
    rc.get_entity("Z", "x")
    check("point read outside is not found", False)
except ResourceNotFoundError:
    check("point read outside is not found", True)
check("write inside", status(lambda: rc.upsert_entity({"PartitionKey": "N", "RowKey": "n"}, mode=UpdateMode.MERGE)) == 200)
check("write outside refused", status(lambda: rc.upsert_entity({"PartitionKey": "B", "RowKey": "n"}, mode=UpdateMode.MERGE)) == 403)
check("delete outside refused", status(lambda: rc.delete_entity("S", "Z")) == 403)
check("the refused delete kept the entity", t.get_entity("S", "Z")["v"] == "SZ")

print("python policies: all checks passed")
