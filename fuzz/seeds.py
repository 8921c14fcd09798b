#!/usr/bin/env python3
"""Writes the full seed sets into fuzz/seeds/<target>/ (or $SEEDS_DIR; deterministic, run from
anywhere). They are not committed: fuzz/corpus/<target>/ holds the minimised corpus (these seeds
that matter most plus what fuzzing found, at most 60 files; see fuzz/minimise.py).

- jws: every compact token of the Wycheproof JOSE signature vectors, the same tokens re-signed
  with the fuzz keys (so their odd headers reach the claim checks), and valid tokens for every
  algorithm the `jws` managers allow, plus alg-confusion and `none` tokens.
- locate: requests (fields separated by 0xFF, see fuzz_targets/locate.rs) carrying valid,
  expired and forged tokens in every location, CSRF cases, the body limit, OPTIONS.
- claims: JSON claim sets (signed as they are by the target) around every claim rule.

Tokens are minted against the frozen clock and secret of fuzz/src/lib.rs (NOW, SECRET) with the
PEM keys of tests/keys/.
"""
import base64, hashlib, hmac, json, os, sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NOW = 1_700_000_000
SECRET = b"fuzz-secret-of-at-least-32-bytes!!!!"
OUT = os.environ.get("SEEDS_DIR", os.path.join(HERE, "seeds"))
VECTORS = os.environ.get("WYCHEPROOF_JOSE_DIR", os.path.join(ROOT, "tests/vectors/wycheproof-jose"))


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def key(name):
    with open(os.path.join(ROOT, "tests/keys", name), "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


RSA = key("rsa_a.pem")
EC = key("ec256.pem")
HASHES = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}


def signature(alg, signing_input):
    fam, bits = alg[:2], alg[2:]
    if fam == "HS":
        return hmac.new(SECRET, signing_input, getattr(hashlib, "sha" + bits)).digest()
    if fam == "RS":
        return RSA.sign(signing_input, padding.PKCS1v15(), HASHES[bits])
    if fam == "PS":
        return RSA.sign(signing_input, padding.PSS(padding.MGF1(HASHES[bits]), HASHES[bits].digest_size), HASHES[bits])
    if alg == "ES256":
        r, s = decode_dss_signature(EC.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if alg == "none":
        return b""
    raise ValueError(alg)


def token_raw(header_bytes, payload_bytes, alg):
    signing_input = (b64(header_bytes) + "." + b64(payload_bytes)).encode()
    return signing_input.decode() + "." + b64(signature(alg, signing_input))


def token(claims, alg="HS256", header=None):
    header = header or {"alg": alg, "typ": "JWT"}
    return token_raw(json.dumps(header, separators=(",", ":")).encode(),
                     json.dumps(claims, separators=(",", ":")).encode(), alg)


def claims(**over):
    c = {"fresh": False, "iat": NOW - 10, "jti": "0b7c4f8e-1", "type": "access", "sub": "alice",
         "nbf": NOW - 10, "exp": NOW + 900, "csrf": "csrf-1"}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


ACCESS = token(claims())
REFRESH = token(claims(type="refresh", jti="0b7c4f8e-2", fresh=None))
FRESH = token(claims(fresh=True, jti="0b7c4f8e-3"))
EXPIRED = token(claims(exp=NOW - 1, iat=NOW - 1000, nbf=NOW - 1000))
NO_JTI = token(claims(jti=None))
FORGED = ACCESS[:-4] + ("AAAA" if not ACCESS.endswith("AAAA") else "BBBB")


def jws_seeds():
    with open(os.path.join(VECTORS, "json_web_signature_test.json")) as f:
        vectors = json.load(f)
    seen, headers = set(), set()
    n = 0
    for group in vectors["testGroups"]:
        for t in group["tests"]:
            jws = t["jws"]
            if jws in seen:
                continue
            seen.add(jws)
            write("jws", "wycheproof-%03d" % t["tcId"], jws)
            n += 1
            # Re-signed with the fuzz keys: the vector's header and payload reach the claim checks.
            parts = jws.split(".")
            if len(parts) != 3:
                continue
            try:
                hdr = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4))
                alg = json.loads(hdr).get("alg")
            except Exception:
                continue
            if alg in ("HS256", "HS384", "HS512", "RS256", "ES256") and hdr not in headers:
                # Once per distinct header: with its payload, then with a valid claim set.
                headers.add(hdr)
                try:
                    pay = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
                except Exception:
                    pay = b"foo"
                write("jws", "wycheproof-%03d-resigned" % t["tcId"], token_raw(hdr, pay, alg))
                write("jws", "wycheproof-%03d-claims" % t["tcId"],
                      token_raw(hdr, json.dumps(claims()).encode(), alg))
    for alg in ("HS256", "HS384", "HS512", "RS256", "PS256", "ES256", "none"):
        write("jws", "minted-" + alg, token(claims(), alg))
    # HS256 keyed with the RSA public key PEM: the classic algorithm confusion.
    with open(os.path.join(ROOT, "tests/keys/rsa_a.pub.pem"), "rb") as f:
        pub = f.read()
    si = (b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(claims()).encode())).encode()
    write("jws", "confusion-hs256-rsa-pem", si.decode() + "." + b64(hmac.new(pub, si, hashlib.sha256).digest()))
    write("jws", "minted-kid", token(claims(), header={"alg": "HS256", "kid": "k1"}))
    write("jws", "minted-crit", token(claims(), header={"alg": "HS256", "crit": ["exp"]}))
    write("jws", "expired", EXPIRED)
    write("jws", "padded", ACCESS + "=")
    return n


def req(method, bits, auth=b"", cookie=b"", query=b"", ctype=b"", csrf=b"", body=b""):
    fields = [bytes([method, bits]), auth, cookie, query, ctype, csrf, body]
    return b"\xff".join(f if isinstance(f, bytes) else f.encode() for f in fields)


GET, POST, PUT, DELETE, PATCH, OPTIONS, HEAD = range(7)


def locate_seeds():
    A = ACCESS
    seeds = {
        "header": req(GET, 0, auth="Bearer " + A),
        "header-multi": req(GET, 0, auth="Basic creds, Bearer " + A),
        "header-two-bearers": req(GET, 0, auth="Bearer " + A + ", Bearer " + REFRESH),
        "header-non-ascii": req(GET, 0, auth=b"Bearer \xe9" + A.encode()),
        "header-expired": req(GET, 0, auth="Bearer " + EXPIRED),
        "header-forged": req(GET, 0, auth="Bearer " + FORGED),
        "header-no-jti": req(GET, 0, auth="Bearer " + NO_JTI),
        "header-no-jti-skip": req(GET, 0x10, auth="Bearer " + NO_JTI),
        "cookie-get": req(GET, 0, cookie="access_token_cookie=" + A),
        "cookie-post-csrf": req(POST, 0, cookie="a=b; access_token_cookie=\"" + A + "\"", csrf="csrf-1"),
        "cookie-post-no-csrf": req(POST, 0, cookie="access_token_cookie=" + A),
        "cookie-post-bad-csrf": req(DELETE, 0, cookie="access_token_cookie=" + A, csrf="csrf-2"),
        "cookie-twice": req(GET, 0, cookie="access_token_cookie=" + A + "; access_token_cookie=" + A),
        "cookie-refresh": req(PUT, 0x04, cookie="refresh_token_cookie=" + REFRESH, csrf="csrf-1"),
        "query": req(GET, 0, query="x=1&jwt=" + A),
        "query-encoded": req(GET, 0, query="jwt=" + A.replace(".", "%2E")),
        "json": req(POST, 0, ctype="application/json", body=json.dumps({"access_token": A})),
        "json-refresh": req(POST, 0x04, ctype="application/json; charset=utf-8", body=json.dumps({"refresh_token": REFRESH})),
        "json-vnd": req(PATCH, 0, ctype="application/vnd.api+json", body=json.dumps({"access_token": A, "x": [1, 2]})),
        "json-escaped": req(POST, 0, ctype="application/json", body='{"access_token": "\\u0065' + A[1:] + '"}'),
        "json-array": req(POST, 0, ctype="application/json", body="[1]"),
        "json-falsy": req(POST, 0, ctype="application/json", body='{"access_token": 0}'),
        "json-non-string": req(POST, 0, ctype="application/json", body='{"access_token": [1]}'),
        "json-too-large": req(POST, 0x40, ctype="application/json", body=json.dumps({"access_token": A, "pad": "x" * 300})),
        "json-lying-length": req(POST, 0x20, ctype="application/json", body=json.dumps({"access_token": A})),
        "fresh-route": req(GET, 0x02, auth="Bearer " + FRESH),
        "fresh-route-stale": req(GET, 0x02, auth="Bearer " + A),
        "refresh-route-access": req(GET, 0x04, auth="Bearer " + A),
        "no-type-check": req(GET, 0x0C, auth="Bearer " + A),
        "options": req(OPTIONS, 0),
        "optional-none": req(GET, 0x01),
        "head": req(HEAD, 0, auth="Bearer " + A),
    }
    for name, data in seeds.items():
        write("locate", name, data)
    return len(seeds)


def claims_seeds():
    seeds = {
        "valid": claims(),
        "valid-minimal": {"sub": "alice", "jti": "j"},
        "expired": claims(exp=NOW - 1),
        "expired-now": claims(exp=NOW),
        "exp-fraction": claims(exp=NOW + 0.5),
        "exp-string": claims(exp=str(NOW + 900)),
        "exp-bool": claims(exp=True),
        "exp-null": claims(exp=None) | {"exp": None},
        "iat-future": claims(iat=NOW + 1),
        "nbf-float": claims(nbf=NOW + 0.9),
        "sub-int": claims(sub=42),
        "sub-object": claims(sub={"id": 1}),
        "no-sub": claims(sub=None),
        "jti-int": claims(jti=7),
        "fresh-number": claims(fresh=NOW + 60),
        "refresh": claims(type="refresh"),
        "aud-list": claims(aud=["x", "api"]),
        "aud-mixed": claims(aud=["api", 1]),
        "iss": claims(iss="https://issuer.example", aud="api"),
    }
    for name, c in seeds.items():
        write("claims", name, json.dumps(c, separators=(",", ":")))
    raw = {
        "duplicate-sub": '{"sub":"alice","jti":"j","sub":"bob"}',
        "exp-huge": '{"sub":"alice","jti":"j","exp":1e400}',
        "exp-u64-overflow": '{"sub":"alice","jti":"j","exp":18446744073709551616}',
        "exp-negative-zero": '{"sub":"alice","jti":"j","exp":-0}',
        "trailing": '{"sub":"alice","jti":"j"} x',
        "escaped-key": '{"\\u0073ub":"alice","jti":"j"}',
    }
    for name, text in raw.items():
        write("claims", name, text)
    # A few inputs for the structured (arbitrary) mode.
    for i in range(4):
        write("claims", "structured-%d" % i, hashlib.sha256(b"seed%d" % i).digest() * 4)
    return len(seeds) + len(raw) + 4


if __name__ == "__main__":
    print("jws: %d wycheproof tokens (+ re-signed and minted)" % jws_seeds())
    print("locate: %d" % locate_seeds())
    print("claims: %d" % claims_seeds())
