"""Drives atrest's Key Vault with the official Python clients (azure-keyvault-keys
and azure-identity) over HTTPS, trusting the local CA through REQUESTS_CA_BUNDLE.

Run by e2e/kv_python_test.go in phases (argv[1]):
  main        the whole key lifecycle; writes state to ATREST_STATE
  after-shift after the Go side advanced the service clock: automatic rotation
              happened and a soft-deleted key's retention ended
  managed     ManagedIdentityCredential (IDENTITY_ENDPOINT + IDENTITY_HEADER)
Prints one line per check; any failure raises and exits non-zero.
"""
import hashlib
import json
import os
import socket
import sys

# {vault}.localhost must reach the loopback address. On most Linux systems
# nss-myhostname or systemd-resolved does this; here it is done in-process,
# the equivalent of a hosts entry. The SDKs are not touched.
_getaddrinfo = socket.getaddrinfo


def _resolve_localhost(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".localhost"):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _resolve_localhost

# azure-keyvault-keys 4.8.0b3 builds a local provider for oct keys even
# though Key Vault never returns their material, and then wraps with a key it
# makes up (SymmetricKey draws os.urandom when k is absent). With algorithm
# names given as plain strings its local attempt fails and the operation goes
# to the vault, as it must; the SDK logs that failure as a warning, silenced
# here.
import logging  # noqa: E402

logging.getLogger("azure.keyvault.keys.crypto._client").setLevel(logging.ERROR)

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa  # noqa: E402
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError  # noqa: E402
from azure.identity import ClientSecretCredential, ManagedIdentityCredential  # noqa: E402
from azure.keyvault.keys import (JsonWebKey, KeyClient, KeyRotationLifetimeAction,  # noqa: E402
                                 KeyRotationPolicy, KeyRotationPolicyAction)
from azure.keyvault.keys.crypto import (CryptographyClient, EncryptionAlgorithm, KeyWrapAlgorithm,  # noqa: E402
                                        SignatureAlgorithm)

env = os.environ
phase = sys.argv[1]
state_file = env["ATREST_STATE"]


def check(name, cond):
    if not cond:
        raise AssertionError(name)
    print("ok", name, flush=True)


def raises(name, exc, fn, status=None):
    try:
        fn()
    except exc as e:
        if status is not None and getattr(e, "status_code", None) != status:
            raise AssertionError("%s: status %s, want %s" % (name, getattr(e, "status_code", None), status))
        print("ok", name, "->", type(e).__name__, getattr(e, "status_code", ""), flush=True)
        return
    raise AssertionError(name + ": no error")


def credential():
    return ClientSecretCredential(env["ATREST_TENANT"], env["ATREST_CLIENT_ID"], env["ATREST_CLIENT_SECRET"],
                                  authority=env["ATREST_AUTHORITY"], instance_discovery=False)


def uint_bytes(n):
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


def main():
    cred = credential()
    kc = KeyClient(env["ATREST_VAULT_URL"], cred)  # challenge resource verification stays on
    locked = KeyClient(env["ATREST_LOCKED_URL"], cred)

    # create every key type
    rsa_key = kc.create_rsa_key("py-rsa", size=2048, tags={"lang": "python"})
    check("create RSA 2048: kid on the vault host", rsa_key.id.startswith(env["ATREST_VAULT_URL"] + "/keys/py-rsa/"))
    check("RSA key carries n and e only", rsa_key.key.n and rsa_key.key.e and not rsa_key.key.d)
    rsa3 = kc.create_rsa_key("py-rsa3072", size=3072, hardware_protected=True)
    check("create RSA-HSM 3072", rsa3.key_type == "RSA-HSM" and len(rsa3.key.n) == 384)
    ecs = {}
    for crv, bits in (("P-256", 256), ("P-384", 384), ("P-521", 521)):
        ecs[crv] = kc.create_ec_key("py-ec%d" % bits, curve=crv)
        check("create EC " + crv, ecs[crv].key.crv == crv and not ecs[crv].key.d)
    octs = {}
    for size in (128, 192, 256):
        octs[size] = kc.create_oct_key("py-oct%d" % size, size=size, hardware_protected=(size == 256))
        check("create oct %d" % size, octs[size].key.k is None)
    got = kc.get_key("py-rsa")
    check("get latest (trailing slash)", got.id == rsa_key.id and got.properties.tags == {"lang": "python"})
    check("get by version", kc.get_key("py-rsa", rsa_key.properties.version).id == rsa_key.id)
    raises("get missing key", ResourceNotFoundError, lambda: kc.get_key("py-nope"))

    # RSA: wrap and encrypt run locally with the public key, unwrap and decrypt in the vault
    cc = CryptographyClient(rsa_key, cred)
    cek = os.urandom(32)
    for alg in (KeyWrapAlgorithm.rsa_oaep, KeyWrapAlgorithm.rsa_oaep_256, KeyWrapAlgorithm.rsa1_5):
        w = cc.wrap_key(alg, cek)
        check("RSA wrap/unwrap " + alg, cc.unwrap_key(alg, w.encrypted_key).key == cek)
    for alg in (EncryptionAlgorithm.rsa_oaep, EncryptionAlgorithm.rsa_oaep_256, EncryptionAlgorithm.rsa1_5):
        e = cc.encrypt(alg, b"python secret")
        check("RSA encrypt/decrypt " + alg, cc.decrypt(alg, e.ciphertext).plaintext == b"python secret")
    by_id = CryptographyClient(rsa_key.id, cred)  # fetches the key from the kid's host first
    for alg, h in ((SignatureAlgorithm.rs256, hashlib.sha256), (SignatureAlgorithm.rs384, hashlib.sha384),
                   (SignatureAlgorithm.rs512, hashlib.sha512), (SignatureAlgorithm.ps256, hashlib.sha256),
                   (SignatureAlgorithm.ps384, hashlib.sha384), (SignatureAlgorithm.ps512, hashlib.sha512)):
        digest = h(b"signed by python").digest()
        s = by_id.sign(alg, digest)
        check("RSA sign (vault) / verify (local) " + alg, by_id.verify(alg, digest, s.signature).is_valid)
        check("RSA tampered signature fails " + alg,
              not by_id.verify(alg, digest, bytes([s.signature[0] ^ 1]) + s.signature[1:]).is_valid)
    for crv, alg, h in (("P-256", SignatureAlgorithm.es256, hashlib.sha256), ("P-384", SignatureAlgorithm.es384, hashlib.sha384),
                        ("P-521", SignatureAlgorithm.es512, hashlib.sha512)):
        ecc = CryptographyClient(ecs[crv], cred)
        digest = h(b"ec message").digest()
        s = ecc.sign(alg, digest)
        check("EC sign/verify " + alg, ecc.verify(alg, digest, s.signature).is_valid)
    # oct: everything runs in the vault (string algorithm names: see the note at the top)
    for size in (128, 192, 256):
        occ = CryptographyClient(octs[size], cred)
        w = occ.wrap_key("A%dKW" % size, cek)
        check("AES key wrap A%dKW" % size, len(w.encrypted_key) == 40 and occ.unwrap_key("A%dKW" % size, w.encrypted_key).key == cek)
        e = occ.encrypt("A%dGCM" % size, b"gcm from python", additional_authenticated_data=b"aad")
        d = occ.decrypt("A%dGCM" % size, e.ciphertext, iv=e.iv, authentication_tag=e.tag, additional_authenticated_data=b"aad")
        check("AES-GCM A%dGCM" % size, d.plaintext == b"gcm from python" and len(e.iv) == 12)
        for mode, msg in (("CBC", b"exactly16bytes!!"), ("CBCPAD", b"any length")):
            e = occ.encrypt("A%d%s" % (size, mode), msg, iv=os.urandom(16))
            check("AES-%s A%d" % (mode, size), occ.decrypt("A%d%s" % (size, mode), e.ciphertext, iv=e.iv).plaintext == msg)

    # properties: disable, tags, expiry
    kc.update_key_properties("py-oct128", enabled=False)
    occ = CryptographyClient(kc.get_key("py-oct128"), cred)
    raises("disabled key refuses wrap", HttpResponseError, lambda: occ.wrap_key("A128KW", cek), 403)
    k = kc.update_key_properties("py-oct128", enabled=True, tags={"state": "on"})
    check("re-enabled with tags", k.properties.enabled and k.properties.tags == {"state": "on"})

    # listing and random bytes
    names = {p.name for p in kc.list_properties_of_keys()}
    check("list keys", {"py-rsa", "py-ec256", "py-oct256"} <= names)
    check("random bytes", len(kc.get_random_bytes(32)) == 32)

    # soft delete and recover
    w = cc.wrap_key(KeyWrapAlgorithm.rsa_oaep_256, cek)
    d = kc.begin_delete_key("py-rsa").result()
    check("delete returns the recovery id", d.recovery_id == env["ATREST_VAULT_URL"] + "/deletedkeys/py-rsa")
    kc.begin_delete_key("py-ec256").wait()  # polls GET /deletedkeys/py-ec256
    check("get deleted key", kc.get_deleted_key("py-rsa").scheduled_purge_date is not None)
    check("list deleted keys", {x.name for x in kc.list_deleted_keys()} >= {"py-rsa", "py-ec256"})
    raises("deleted key is gone", ResourceNotFoundError, lambda: kc.get_key("py-rsa"))
    kc.begin_recover_deleted_key("py-rsa").wait()  # polls GET /keys/py-rsa/
    check("recovered key unwraps", cc.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, w.encrypted_key).key == cek)

    # purge protection
    locked.create_oct_key("py-held")
    locked.begin_delete_key("py-held").wait()
    raises("purge refused under purge protection", HttpResponseError, lambda: locked.purge_deleted_key("py-held"), 403)

    # backup -> delete -> purge -> restore
    backup = kc.backup_key("py-oct192")
    w = CryptographyClient(octs[192], cred).wrap_key("A192KW", cek)
    check("backup is opaque", b"py-oct192" not in backup and len(backup) > 200)
    raises("restore over a live key", ResourceExistsError, lambda: kc.restore_key_backup(backup))
    kc.begin_delete_key("py-oct192").wait()
    kc.purge_deleted_key("py-oct192")
    raises("purged key is gone", ResourceNotFoundError, lambda: kc.get_deleted_key("py-oct192"))
    restored = kc.restore_key_backup(backup)
    check("restored key has the same id", restored.id == octs[192].id)
    check("restored key unwraps", CryptographyClient(restored, cred).unwrap_key("A192KW", w.encrypted_key).key == cek)

    # import with private parts; the vault's RSA-OAEP unwraps with the local private key
    priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    n = priv.private_numbers()
    jwk = JsonWebKey(kty="RSA", n=uint_bytes(n.public_numbers.n), e=uint_bytes(n.public_numbers.e), d=uint_bytes(n.d),
                     p=uint_bytes(n.p), q=uint_bytes(n.q), dp=uint_bytes(n.dmp1), dq=uint_bytes(n.dmq1), qi=uint_bytes(n.iqmp))
    imported = kc.import_key("py-imported", jwk)
    check("import keeps the private part in", imported.key.d is None and imported.key.n == jwk.n)
    icc = CryptographyClient(imported.id, cred)
    for alg, h in ((KeyWrapAlgorithm.rsa_oaep, hashes.SHA1()), (KeyWrapAlgorithm.rsa_oaep_256, hashes.SHA256())):
        local = priv.public_key().encrypt(cek, padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None))
        check("standard RSA %s from the imported key unwraps in the vault" % alg, icc.unwrap_key(alg, local).key == cek)
    # an RFC 3394 vector through an imported AES key
    kek = bytes(range(32))
    kc.import_key("py-kw", JsonWebKey(kty="oct-HSM", k=kek))
    w = CryptographyClient(kc.get_key("py-kw"), cred).wrap_key("A256KW", bytes.fromhex("00112233445566778899AABBCCDDEEFF"))
    check("A256KW matches RFC 3394 4.3", w.encrypted_key.hex().upper() == "64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7")

    # rotation and rotation policy
    rotated = kc.rotate_key("py-oct256")
    check("rotate makes a new version", rotated.properties.version != octs[256].properties.version)
    pol = kc.update_key_rotation_policy("py-oct256", KeyRotationPolicy(expires_in="P90D", lifetime_actions=[
        KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P30D")]))
    check("set rotation policy", pol.expires_in == "P90D" and pol.lifetime_actions[0].time_after_create == "P30D")
    got = kc.get_key_rotation_policy("py-oct256")
    check("get rotation policy", got.lifetime_actions[0].action.lower() == "rotate" and got.id.endswith("/keys/py-oct256/rotationpolicy"))
    versions = [p.version for p in kc.list_properties_of_key_versions("py-oct256")]
    check("two versions before the time shift", len(versions) == 2)

    # the default vault at the bare IP address: resource verification cannot pass there, so it is off
    dk = KeyClient(env["ATREST_DEFAULT_URL"], cred, verify_challenge_resource=False)
    k = dk.create_ec_key("py-default", curve="P-256")
    check("default vault by IP", k.id.startswith(env["ATREST_DEFAULT_URL"] + "/keys/py-default/"))

    with open(state_file, "w") as f:
        json.dump({"versions": versions, "deleted": "py-ec256"}, f)
    print("python key vault main: all checks passed")


def after_shift():
    with open(state_file) as f:
        st = json.load(f)
    kc = KeyClient(env["ATREST_VAULT_URL"], credential())
    versions = [p for p in kc.list_properties_of_key_versions("py-oct256")]
    check("the policy rotated the key after the time shift", len(versions) == len(st["versions"]) + 1)
    newest = max(versions, key=lambda p: p.created_on)
    check("the new version expires 90 days after it was made",
          round((newest.expires_on - newest.created_on).total_seconds()) == 90 * 86400)
    raises("retention over: the deleted key was purged", ResourceNotFoundError, lambda: kc.get_deleted_key(st["deleted"]))
    print("python key vault after-shift: all checks passed")


def managed():
    cred = ManagedIdentityCredential()
    kc = KeyClient(env["ATREST_VAULT_URL"], cred)
    key = kc.get_key("py-imported")
    cc = CryptographyClient(key, cred)
    cek = os.urandom(32)
    w = cc.wrap_key(KeyWrapAlgorithm.rsa_oaep_256, cek)
    check("managed identity unwraps", cc.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, w.encrypted_key).key == cek)
    raises("managed identity cannot delete", HttpResponseError, lambda: kc.begin_delete_key("py-imported"), 403)
    print("python key vault managed: all checks passed")


{"main": main, "after-shift": after_shift, "managed": managed}[phase]()
