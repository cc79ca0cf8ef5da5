"""Drives atrest's Table service with the official Python SDK (azure-data-tables).

Run by e2e/pyqueuetable_test.go with ATREST_CONN set to a connection string.
The client signs with SharedKey (the Go client uses SharedKeyLite).
Prints one line per check; any failure raises and exits non-zero.
"""
import datetime
import json
import os
import uuid

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import EdmType, EntityProperty, TableServiceClient, TableTransactionError, UpdateMode

conn = os.environ["ATREST_CONN"]
canary = os.environ.get("ATREST_CANARY", "py-canary")
tsc = TableServiceClient.from_connection_string(conn)


def code(e):
    """The Azure error code of e: some calls of this client version re-raise
    the generated client's error, which lacks error_code."""
    c = getattr(e, "error_code", None)
    if c is None and e.response is not None:
        c = json.loads(e.response.text())["odata.error"]["code"]
    return str(c.value if hasattr(c, "value") else c)


def check(name, cond):
    if not cond:
        raise AssertionError(name)
    print("ok", name)


# tables: create, conflict, query by name in pages, delete
for i in range(5):
    tsc.create_table("PyTable%d" % i)
try:
    tsc.create_table("pytable0")
    raise AssertionError("duplicate table accepted")
except ResourceExistsError as e:
    check("table names are case-insensitive", code(e) == "TableAlreadyExists")
pages = list(tsc.query_tables("TableName ge 'PyTable' and TableName lt 'PyTablf'", results_per_page=2).by_page())
names = [t.name for p in pages for t in p]
check("table query in pages", names == ["PyTable%d" % i for i in range(5)] and len(pages) == 3)
check("list tables", {"PyTable0", "PyTable4"} <= {t.name for t in tsc.list_tables()})
tsc.delete_table("PyTable4")
check("table deleted", "PyTable4" not in {t.name for t in tsc.list_tables()})

tc = tsc.get_table_client("PyTable0")
when = datetime.datetime(2024, 2, 29, 13, 14, 15, 123456, tzinfo=datetime.timezone.utc)
gid = uuid.UUID("c9da6455-213d-42c9-9a79-3e9149a57833")
entity = {
    "PartitionKey": "types", "RowKey": "it's all",
    "Text": "secret " + canary, "Int": 42, "Big": EntityProperty(2 ** 40, EdmType.INT64), "Float": 2.5, "Whole": 3.0, "Flag": False,
    "When": when, "Id": gid, "Bytes": b"binary " + canary.encode(),
    "Typed": EntityProperty(7, EdmType.INT64), "Nan": float("nan"),
}
created = tc.create_entity(entity)
check("create returns an etag", created["etag"].startswith('W/"datetime'))
try:
    tc.create_entity(entity)
    raise AssertionError("duplicate entity accepted")
except ResourceExistsError as e:
    check("duplicate entity", code(e) == "EntityAlreadyExists")
got = tc.get_entity("types", "it's all")
check("string", got["Text"] == "secret " + canary)
check("int32", got["Int"] == 42)
check("int64", got["Big"].value == 2 ** 40 and got["Big"].edm_type == EdmType.INT64)
check("int64 typed", got["Typed"].value == 7)
check("double", got["Float"] == 2.5 and isinstance(got["Whole"], float) and got["Whole"] == 3.0)
check("nan", got["Nan"] != got["Nan"])
check("bool", got["Flag"] is False)
check("datetime", got["When"] == when)
check("guid", got["Id"] == gid)
check("binary", got["Bytes"] == b"binary " + canary.encode())
check("etag and timestamp", got.metadata["etag"] == created["etag"] and got.metadata["timestamp"] is not None)
sel = tc.get_entity("types", "it's all", select=["Int", "Flag"])
check("select on get", set(sel.keys()) == {"Int", "Flag"})

# updates: replace and merge under an ETag, stale ETags refused
etag = got.metadata["etag"]
tc.update_entity({"PartitionKey": "types", "RowKey": "it's all", "Text": "replaced"}, mode=UpdateMode.REPLACE,
                 etag=etag, match_condition=MatchConditions.IfNotModified)
try:
    tc.update_entity({"PartitionKey": "types", "RowKey": "it's all", "X": 1}, mode=UpdateMode.MERGE,
                     etag=etag, match_condition=MatchConditions.IfNotModified)
    raise AssertionError("stale etag accepted")
except ResourceModifiedError as e:
    check("stale etag", code(e) == "UpdateConditionNotSatisfied")
tc.update_entity({"PartitionKey": "types", "RowKey": "it's all", "More": "merged"}, mode=UpdateMode.MERGE)
got = tc.get_entity("types", "it's all")
check("replace then merge", dict(got) == {"PartitionKey": "types", "RowKey": "it's all", "Text": "replaced", "More": "merged"})
tc.upsert_entity({"PartitionKey": "types", "RowKey": "up", "A": 1})
tc.upsert_entity({"PartitionKey": "types", "RowKey": "up", "B": 2}, mode=UpdateMode.MERGE)
check("insert-or-merge", dict(tc.get_entity("types", "up")) == {"PartitionKey": "types", "RowKey": "up", "A": 1, "B": 2})
tc.upsert_entity({"PartitionKey": "types", "RowKey": "up", "C": 3}, mode=UpdateMode.REPLACE)
check("insert-or-replace", dict(tc.get_entity("types", "up")) == {"PartitionKey": "types", "RowKey": "up", "C": 3})
tc.delete_entity("types", "up")
try:
    tc.get_entity("types", "up")
    raise AssertionError("deleted entity found")
except ResourceNotFoundError as e:
    check("deleted entity", code(e) == "ResourceNotFound")

# transactions: create 100 in one, a failing one leaves no trace, mixed ops
tc.submit_transaction([("create", {"PartitionKey": "batch", "RowKey": "%03d" % i, "N": i, "Note": canary}) for i in range(100)])
check("100-operation transaction", len(list(tc.query_entities("PartitionKey eq 'batch'"))) == 100)
try:
    tc.submit_transaction([("create", {"PartitionKey": "batch", "RowKey": "new"}),
                           ("update", {"PartitionKey": "batch", "RowKey": "001", "N": -1}),
                           ("create", {"PartitionKey": "batch", "RowKey": "000"})])
    raise AssertionError("failing transaction committed")
except TableTransactionError as e:
    check("failed operation index", e.index == 2 and code(e) == "EntityAlreadyExists")
check("nothing of it applied", len(list(tc.query_entities("PartitionKey eq 'batch' and (RowKey eq 'new' or N eq -1)"))) == 0)
try:
    tc.submit_transaction([("create", {"PartitionKey": "batch", "RowKey": "x%03d" % i}) for i in range(101)])
    raise AssertionError("101 operations accepted")
except (TableTransactionError, HttpResponseError) as e:
    check("more than 100 operations refused", code(e) == "InvalidInput")
try:
    tc.submit_transaction([("create", {"PartitionKey": "batch", "RowKey": "dup"}), ("upsert", {"PartitionKey": "batch", "RowKey": "dup"})])
    raise AssertionError("duplicate row accepted")
except TableTransactionError as e:
    check("duplicate row refused", code(e) == "InvalidDuplicateRow")
tc.submit_transaction([("delete", {"PartitionKey": "batch", "RowKey": "099"}),
                       ("upsert", {"PartitionKey": "batch", "RowKey": "098", "Extra": "x"}, {"mode": UpdateMode.MERGE}),
                       ("update", {"PartitionKey": "batch", "RowKey": "097", "N": 970}, {"mode": UpdateMode.REPLACE})])
check("mixed transaction", len(list(tc.query_entities("PartitionKey eq 'batch'"))) == 99
      and tc.get_entity("batch", "098")["Extra"] == "x" and tc.get_entity("batch", "097")["N"] == 970)

# queries: parameters, typed literals, paging, select
q = tc.query_entities("PartitionKey eq @pk and N ge @lo and N lt @hi", parameters={"pk": "batch", "lo": 10, "hi": 40},
                      results_per_page=7)
pages = list(q.by_page())
rows = [e for p in pages for e in p]
check("filtered query in pages", len(rows) == 30 and len(pages) == 5 and rows[0]["RowKey"] == "010")
check("select on query", all(set(e.keys()) == {"N"} for e in tc.query_entities("N lt 3", select=["N"])))
for flt, params, want in [
    ("When eq @t", {"t": when}, 0),
    ("Text eq 'replaced' and PartitionKey eq 'types'", {}, 1),
    ("N gt 95 or RowKey eq '000'", {}, 4),
    ("not (N lt 98)", {}, 2),
    ("N eq 5L", {}, 1),
    ("N ge 96.5 and N le 970.0", {}, 2),
    ("Extra eq 'x' and PartitionKey ne 'types'", {}, 1),
]:
    n = len(list(tc.query_entities(flt, parameters=params)))
    check("filter %s" % flt, n == want)
tc.create_entity({"PartitionKey": "typed", "RowKey": "1", "When": when, "Id": gid, "Bytes": b"\x01\x02", "Big": EntityProperty(2 ** 40, EdmType.INT64), "On": True})
for flt, params in [
    ("When eq @t", {"t": when}),
    ("When gt datetime'2024-01-01T00:00:00Z'", {}),
    ("Id eq @g", {"g": gid}),
    ("Bytes eq X'0102'", {}),
    ("Big eq @b", {"b": 2 ** 40}),
    ("On eq true and PartitionKey eq 'typed'", {}),
]:
    check("typed filter %s" % flt, len(list(tc.query_entities(flt, parameters=params))) == 1)
try:
    list(tc.query_entities("N eq"))
    raise AssertionError("malformed filter accepted")
except HttpResponseError as e:
    check("malformed filter", e.status_code == 400 and code(e) == "InvalidInput")

# oversized properties and entities are refused and change nothing
try:
    tc.create_entity({"PartitionKey": "big", "RowKey": "1", "S": "x" * 40000})
    raise AssertionError("oversized property accepted")
except HttpResponseError as e:
    check("property over 64 KiB", code(e) == "PropertyValueTooLarge")
try:
    tc.create_entity(dict({"PartitionKey": "big", "RowKey": "2"}, **{"P%d" % i: b"y" * 60000 for i in range(20)}))
    raise AssertionError("oversized entity accepted")
except HttpResponseError as e:
    check("entity over 1 MiB", code(e) in ("EntityTooLarge", "RequestBodyTooLarge"))
check("nothing stored", len(list(tc.query_entities("PartitionKey eq 'big'"))) == 0)
tsc.get_table_client("PyTable1").create_entity({"PartitionKey": "k", "RowKey": "1", "Secret": canary})
print("python table: all checks passed")
