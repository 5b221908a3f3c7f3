#!/usr/bin/env python3
"""Drives akv-emulator with Microsoft's own Python SDK (azure-keyvault-keys, azure-identity).

If Microsoft's client accepts every answer of the emulator, the emulator speaks the real wire
format: challenge-based auth, versionless URLs, base64url fields, algorithm names, error bodies.

    .venv/bin/python tests/conformance/sdk_conformance.py --emulator target/debug/akv-emulator

Starts the emulator, reads its ready line, routes the vault and Managed HSM host names to it
inside this process only, gets tokens with ManagedIdentityCredential from the emulator's IMDS,
and checks:
  - create / get / list keys (also in pages the SDK follows by nextLink) and versions, on a
    vault and on a Managed HSM;
  - every signature algorithm, signed remotely and verified remotely by the SDK, and the
    signature also verified independently with the `cryptography` package;
  - every RSA encrypt/decrypt and wrap/unwrap algorithm, remotely, both directions; AES-GCM,
    AES-CBC(PAD) and AES key wrap on the Managed HSM;
  - the SDK's exceptions for a missing key and for a forbidden operation.
The SDK signs, verifies, encrypts and wraps locally once it holds the public key; the test makes
the emulator answer 403 to that GET (a fault) so every operation goes to the service, and reads
the emulator's request counts to prove it. Exit 0 when every check passed.
"""

import argparse
import hashlib
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import traceback
import urllib.request

VAULT_HOST = "akvconf.vault.azure.net"
HSM_HOST = "akvconfhsm.managedhsm.azure.net"
SERVICE_SUFFIXES = (".vault.azure.net", ".managedhsm.azure.net")


class Emulator:
    """The emulator binary, started with its ready line read, stopped on exit."""

    def __init__(self, binary):
        self.process = subprocess.Popen(
            [binary, "--token-ttl", "3600"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()
        if not line:
            err = self.process.stderr.read()
            raise SystemExit(f"akv-emulator exited before its ready line: {err}")
        ready = json.loads(line)
        self.https = ready["https"]
        self.imds = ready["imds"]
        self.ca = ready["ca"]
        self.port = int(self.https.rsplit(":", 1)[1])
        self.ssl = ssl.create_default_context(cafile=self.ca)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _admin(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"https://{self.https}{path}", data=data, method=method)
        with urllib.request.urlopen(request, context=self.ssl, timeout=30) as response:
            payload = response.read()
            return json.loads(payload) if payload else None

    def stats(self):
        return self._admin("GET", "/_emulator/stats")

    def count(self, op):
        return self.stats()["requests"].get(op, 0)

    def add_faults(self, faults):
        self._admin("POST", "/_emulator/faults", faults)


def route_service_hosts_to(port):
    """Sends connections for vault / Managed HSM host names to the emulator, in this process.

    URL, Host header, SNI and certificate check stay the real names (like curl --connect-to)."""
    original = socket.getaddrinfo

    def getaddrinfo(host, service_port, *args, **kwargs):
        if isinstance(host, str) and host.lower().endswith(SERVICE_SUFFIXES):
            return original("127.0.0.1", port, *args, **kwargs)
        return original(host, service_port, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, name, fn):
        try:
            detail = fn()
        except Exception:  # noqa: BLE001 - every failure is reported, then the next check runs
            self.failed += 1
            print(f"FAIL {name}")
            traceback.print_exc(file=sys.stdout)
            return
        self.passed += 1
        print(f"PASS {name}" + (f": {detail}" if detail else ""))


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emulator", required=True, help="path to the akv-emulator binary")
    args = parser.parse_args()
    if not os.access(args.emulator, os.X_OK):
        raise SystemExit(f"{args.emulator} is not an executable (build it: cargo build -p akv-emulator)")

    # Everything this test talks to is on 127.0.0.1: a proxy from the environment must not
    # see (or break) it.
    for variable in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"):
        os.environ.pop(variable, None)

    started = time.monotonic()
    emulator = Emulator(args.emulator)
    try:
        checks = Checks()
        run_checks(emulator, checks)
    finally:
        emulator.stop()
    elapsed = time.monotonic() - started
    print(f"SDK conformance against {args.emulator} took {elapsed:.1f} s")
    print(f"conformance: {checks.passed} passed, {checks.failed} failed")
    return 0 if checks.failed == 0 else 1


def run_checks(emulator, checks):
    # The SDK and identity imports come after the environment is set, as an application's would.
    os.environ["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = emulator.imds
    for variable in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT"):
        os.environ.pop(variable, None)
    route_service_hosts_to(emulator.port)

    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
    from azure.identity import ManagedIdentityCredential
    from azure.keyvault.keys import KeyClient, KeyCurveName, KeyOperation
    from azure.keyvault.keys.crypto import (
        CryptographyClient,
        EncryptionAlgorithm,
        KeyWrapAlgorithm,
        SignatureAlgorithm,
    )
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

    credential = ManagedIdentityCredential()
    client_options = {"verify_challenge_resource": False, "connection_verify": emulator.ca}
    vault = KeyClient(f"https://{VAULT_HOST}", credential, **client_options)
    hsm = KeyClient(f"https://{HSM_HOST}", credential, **client_options)

    def remote_crypto(key_id):
        """A CryptographyClient that cannot fetch the key, so it never works locally."""
        emulator.add_faults([{"op": "get_key", "status": 403, "count": 1}])
        return CryptographyClient(key_id, credential, **client_options)

    keys = {}

    def create_get_list():
        keys["rsa"] = vault.create_rsa_key("rsa2048", size=2048)
        keys["rsa4096"] = vault.create_rsa_key("rsa4096", size=4096, hardware_protected=True)
        for curve in (KeyCurveName.p_256, KeyCurveName.p_384, KeyCurveName.p_521, KeyCurveName.p_256_k):
            keys[curve] = vault.create_ec_key("ec-" + curve.replace("-", "").lower(), curve=curve)
        keys["hsm-rsa"] = hsm.create_rsa_key("hsm-rsa", size=3072, hardware_protected=True)
        keys["hsm-ec"] = hsm.create_ec_key("hsm-ec", curve=KeyCurveName.p_256, hardware_protected=True)
        for bits in (128, 192, 256):
            keys[f"aes{bits}"] = hsm.create_oct_key(f"aes{bits}", size=bits, hardware_protected=True)
        second = vault.create_rsa_key("rsa2048", size=2048)
        fetched = vault.get_key("rsa2048")
        expect(fetched.id == second.id, f"get returns the latest version: {fetched.id} != {second.id}")
        old = vault.get_key("rsa2048", keys["rsa"].properties.version)
        expect(old.key.n == keys["rsa"].key.n, "get by version returns that version")
        expect(fetched.key_type == "RSA" and keys["rsa4096"].key_type == "RSA-HSM", "vault key types")
        expect(keys["hsm-ec"].key_type == "EC-HSM" and keys["aes256"].key_type == "oct-HSM", "HSM key types")
        expect(fetched.properties.enabled and fetched.properties.created_on is not None, "attributes")
        names = sorted(p.name for p in vault.list_properties_of_keys())
        expect(names == ["ec-p256", "ec-p256k", "ec-p384", "ec-p521", "rsa2048", "rsa4096"], f"list: {names}")
        # Pages of two, linked by nextLink: the SDK follows them to the same six names.
        lists_before = emulator.count("list_keys")
        paged = sorted(p.name for p in vault.list_properties_of_keys(max_page_size=2))
        expect(paged == names, f"paged list: {paged}")
        lists = emulator.count("list_keys") - lists_before
        expect(lists == 3, f"three pages of two, got {lists} requests")
        versions = list(vault.list_properties_of_key_versions("rsa2048"))
        expect(len(versions) == 2, f"two versions, got {len(versions)}")
        hsm_names = sorted(p.name for p in hsm.list_properties_of_keys())
        expect(hsm_names == ["aes128", "aes192", "aes256", "hsm-ec", "hsm-rsa"], f"HSM list: {hsm_names}")
        keys["rsa"] = second
        return f"{len(names)} vault keys (also in 3 pages of 2), {len(hsm_names)} HSM keys, 2 versions of rsa2048"

    checks.run("create, get (latest and by version), list keys and versions", create_get_list)
    if "rsa" not in keys:
        return

    def verify_independently(key, algorithm, digest, signature):
        jwk = key.key
        if algorithm.startswith("ES"):
            curve = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1(),
                     "P-256K": ec.SECP256K1()}[jwk.crv]
            public = ec.EllipticCurvePublicNumbers(
                int.from_bytes(jwk.x, "big"), int.from_bytes(jwk.y, "big"), curve).public_key()
            half = len(signature) // 2
            der = utils.encode_dss_signature(int.from_bytes(signature[:half], "big"),
                                             int.from_bytes(signature[half:], "big"))
            public.verify(der, digest, ec.ECDSA(utils.Prehashed(hash_of(algorithm))))
        else:
            public = rsa.RSAPublicNumbers(int.from_bytes(jwk.e, "big"), int.from_bytes(jwk.n, "big")).public_key()
            h = hash_of(algorithm)
            pad = (padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size)
                   if algorithm.startswith("PS") else padding.PKCS1v15())
            public.verify(signature, digest, pad, utils.Prehashed(h))

    def hash_of(algorithm):
        return {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}[
            "256" if algorithm == "ES256K" else algorithm[2:5]]

    def sign_all():
        plans = [(keys["rsa"], a) for a in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")]
        plans += [(keys["hsm-rsa"], a) for a in ("RS256", "PS512")]
        plans += [(keys[KeyCurveName.p_256], "ES256"), (keys[KeyCurveName.p_384], "ES384"),
                  (keys[KeyCurveName.p_521], "ES512"), (keys[KeyCurveName.p_256_k], "ES256K"),
                  (keys["hsm-ec"], "ES256")]
        before_sign, before_verify = emulator.count("sign"), emulator.count("verify")
        for key, algorithm in plans:
            # Versionless key id: the SDK posts to /keys/<name>//sign.
            versionless = key.id.rsplit("/", 1)[0]
            crypto = remote_crypto(versionless)
            digest = hashlib.new("sha" + hash_of(algorithm).name[3:], f"msg {algorithm}".encode()).digest()
            result = crypto.sign(SignatureAlgorithm(algorithm), digest)
            expect(crypto.verify(SignatureAlgorithm(algorithm), digest, result.signature).is_valid,
                   f"{algorithm}: the SDK's remote verify accepts the signature")
            tampered = bytes([result.signature[0] ^ 1]) + result.signature[1:]
            expect(not crypto.verify(SignatureAlgorithm(algorithm), digest, tampered).is_valid,
                   f"{algorithm}: a tampered signature is refused")
            verify_independently(key, algorithm, digest, result.signature)
        signs = emulator.count("sign") - before_sign
        verifies = emulator.count("verify") - before_verify
        expect(signs == len(plans) and verifies == 2 * len(plans),
               f"all remote: {signs} signs, {verifies} verifies for {len(plans)} algorithms")
        return f"{len(plans)} key/algorithm pairs, {signs} remote signs, {verifies} remote verifies"

    checks.run("every signature algorithm, remote sign + SDK verify + independent verify", sign_all)

    def rsa_encrypt_wrap():
        before = {op: emulator.count(op) for op in ("encrypt", "decrypt", "wrapkey", "unwrapkey")}
        for key in (keys["rsa"], keys["hsm-rsa"]):
            crypto = remote_crypto(key.id)
            for algorithm in ("RSA1_5", "RSA-OAEP", "RSA-OAEP-256"):
                secret = os.urandom(32)
                encrypted = crypto.encrypt(EncryptionAlgorithm(algorithm), secret)
                expect(crypto.decrypt(EncryptionAlgorithm(algorithm), encrypted.ciphertext).plaintext == secret,
                       f"{algorithm}: decrypt(encrypt(x)) == x")
                wrapped = crypto.wrap_key(KeyWrapAlgorithm(algorithm), secret)
                expect(crypto.unwrap_key(KeyWrapAlgorithm(algorithm), wrapped.encrypted_key).key == secret,
                       f"{algorithm}: unwrap(wrap(x)) == x")
                # Encrypted locally with the public key, decrypted by the service.
                public = rsa.RSAPublicNumbers(int.from_bytes(key.key.e, "big"),
                                              int.from_bytes(key.key.n, "big")).public_key()
                pad = {"RSA1_5": padding.PKCS1v15(),
                       "RSA-OAEP": padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None),
                       "RSA-OAEP-256": padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)}[algorithm]
                ciphertext = public.encrypt(secret, pad)
                expect(crypto.decrypt(EncryptionAlgorithm(algorithm), ciphertext).plaintext == secret,
                       f"{algorithm}: the service decrypts what cryptography encrypted")
        counts = {op: emulator.count(op) - n for op, n in before.items()}
        expect(counts == {"encrypt": 6, "decrypt": 12, "wrapkey": 6, "unwrapkey": 6}, f"all remote: {counts}")
        return f"RSA1_5, RSA-OAEP, RSA-OAEP-256 on a vault and an HSM key: {counts}"

    checks.run("every RSA encrypt/decrypt and wrap/unwrap algorithm, remote", rsa_encrypt_wrap)

    def aes_on_hsm():
        done = []
        for bits in (128, 192, 256):
            crypto = remote_crypto(keys[f"aes{bits}"].id)
            plaintext = os.urandom(48)
            gcm = EncryptionAlgorithm(f"A{bits}GCM")
            encrypted = crypto.encrypt(gcm, plaintext, additional_authenticated_data=b"header")
            expect(len(encrypted.iv) == 12 and len(encrypted.tag) == 16, "GCM returns iv and tag")
            decrypted = crypto.decrypt(gcm, encrypted.ciphertext, iv=encrypted.iv,
                                       authentication_tag=encrypted.tag,
                                       additional_authenticated_data=b"header")
            expect(decrypted.plaintext == plaintext, f"A{bits}GCM round trip")
            for name in (f"A{bits}CBC", f"A{bits}CBCPAD"):
                cbc = EncryptionAlgorithm(name)
                iv = os.urandom(16)
                encrypted = crypto.encrypt(cbc, plaintext, iv=iv)
                expect(crypto.decrypt(cbc, encrypted.ciphertext, iv=iv).plaintext == plaintext, f"{name} round trip")
            kw = KeyWrapAlgorithm(f"A{bits}KW")
            cek = os.urandom(32)
            wrapped = crypto.wrap_key(kw, cek)
            expect(crypto.unwrap_key(kw, wrapped.encrypted_key).key == cek, f"A{bits}KW round trip")
            done.append(f"A{bits}GCM/CBC/CBCPAD/KW")
        return ", ".join(done)

    checks.run("AES-GCM, AES-CBC(PAD) and AES key wrap on Managed HSM oct-HSM keys", aes_on_hsm)

    def missing_key():
        try:
            vault.get_key("does-not-exist")
        except ResourceNotFoundError as error:
            expect(error.status_code == 404, f"status {error.status_code}")
            expect(error.error is not None and error.error.code == "KeyNotFound", f"code {error.error}")
            return f"ResourceNotFoundError, code KeyNotFound: {error.message.splitlines()[0][:80]}"
        raise AssertionError("get_key of a missing key did not raise")

    checks.run("missing key raises ResourceNotFoundError (KeyNotFound)", missing_key)

    def forbidden_operation():
        key = vault.create_rsa_key("verify-only", size=2048, key_operations=[KeyOperation.verify])
        crypto = remote_crypto(key.id)
        try:
            crypto.sign(SignatureAlgorithm.rs256, hashlib.sha256(b"x").digest())
        except HttpResponseError as error:
            expect(error.status_code == 403, f"status {error.status_code}")
            expect(error.error is not None and error.error.code == "Forbidden", f"code {error.error}")
            expect("not permitted" in error.message, error.message)
            return f"HttpResponseError 403 Forbidden: {error.error.message}"
        raise AssertionError("sign with a verify-only key did not raise")

    checks.run("forbidden operation raises HttpResponseError 403 (Forbidden)", forbidden_operation)

    def older_api_versions():
        served = []
        for version in ("7.0", "7.3", "7.5", "7.6"):
            old_client = KeyClient(f"https://{VAULT_HOST}", credential, api_version=version, **client_options)
            expect(old_client.get_key("rsa2048").id == keys["rsa"].id, f"api-version {version}")
            served.append(version)
        return "api-version " + ", ".join(served) + " (and the SDK's default 2025-07-01 above)"

    checks.run("older api-versions the SDK can select are served", older_api_versions)

    def tokens_from_imds():
        stats = emulator.stats()
        tokens = stats["requests"].get("token", 0)
        # One token per audience, cached by the SDK for the rest of the run.
        expect(1 <= tokens <= 4, f"{tokens} token requests")
        return f"{tokens} IMDS token requests, {stats['connections']} connections"

    checks.run("tokens come from the emulator's IMDS and are cached", tokens_from_imds)


if __name__ == "__main__":
    sys.exit(main())
