"""Client-side encryption round trips for queue messages (protocol 2.0, the official queue SDK) and table
entities (protocol 1.0, the legacy table SDK's encryption functions over azure-data-tables) between Python and
atrest's Go cse library.

Run by e2e/cse_queue_table_test.go. Environment: ATREST_CONN, ATREST_KEK (hex AES-256 key), ATREST_KID.
argv[1] is the step:
  write  send encrypted messages to queue "csepy" and insert an encrypted entity into table "csepy"
  read   receive the Go-encrypted messages from queue "csego" and read the Go-encrypted entity from table "csego"
"""
import base64
import os
import sys

from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap
from azure.data.tables import TableServiceClient
from azure.multiapi.cosmosdb.v2017_04_17.table import _encryption as legacy
from azure.multiapi.cosmosdb.v2017_04_17.table.models import EdmType, EntityProperty
from azure.storage.queue import QueueServiceClient


class KEK:
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


def check(name, cond):
    if not cond:
        raise AssertionError(name)
    print("ok", name)


conn = os.environ["ATREST_CONN"]
kek = KEK(bytes.fromhex(os.environ["ATREST_KEK"]), os.environ["ATREST_KID"])
qsc = QueueServiceClient.from_connection_string(conn)
tsc = TableServiceClient.from_connection_string(conn)
MESSAGES = ["python secret 1", "python sëcret 2 " + "x" * 3000]
ENTITY = {"PartitionKey": "pk-py", "RowKey": "rk-py", "SSN": "123-45-6789", "Name": "Zoë", "City": "Bern"}


def encrypted_queue(name):
    q = qsc.get_queue_client(name)
    q.require_encryption = True
    q.key_encryption_key = kek
    q.encryption_version = "2.0"
    return q


def to_wire(entity):
    """Legacy EntityProperty(BINARY) values become bytes, which azure-data-tables sends as Edm.Binary."""
    return {k: (v.value if isinstance(v, EntityProperty) else v) for k, v in entity.items()}


def from_wire(entity):
    """The legacy decryption reads the property list as base64 text and encrypted values as EntityProperty."""
    out = {}
    for k, v in entity.items():
        if isinstance(v, bytes):
            v = base64.b64encode(v).decode() if k == "_ClientEncryptionMetadata2" else EntityProperty(EdmType.BINARY, v)
        out[k] = v
    return out


def legacy_decrypt(entity):
    iv, props, cek, java = legacy._extract_encryption_metadata(entity, True, kek, None)
    check("go entity uses the python/.NET layout", not java)
    return legacy._decrypt_entity(entity, props, cek, iv, java)


step = sys.argv[1]
if step == "write":
    q = encrypted_queue("csepy")
    for m in MESSAGES:
        q.send_message(m)
    check("python sent encrypted messages", True)
    encrypted = legacy._encrypt_entity(ENTITY, kek, lambda pk, rk, name: name in ("SSN", "Name"))
    tsc.get_table_client("csepy").upsert_entity(to_wire(encrypted))
    check("python inserted an encrypted entity", True)
elif step == "read":
    q = encrypted_queue("csego")
    got = [m.content for m in q.receive_messages(messages_per_page=10)]
    check("python decrypts go messages", sorted(got) == sorted(["go secret 1", "go sëcret 2 " + "y" * 3000]))
    raw = tsc.get_table_client("csego").get_entity("pk-go", "rk-go")
    check("go entity is stored encrypted", isinstance(raw["SSN"], bytes) and "_ClientEncryptionMetadata1" in raw)
    plain = legacy_decrypt(from_wire(dict(raw)))
    check("python decrypts the go entity", plain["SSN"] == "987-65-4321" and plain["Name"] == "Jürg" and plain["City"] == "Chur")
else:
    raise SystemExit("unknown step " + step)
print("python cse queue/table %s: all checks passed" % step)
