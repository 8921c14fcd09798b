// A DPoP client (RFC 9449) made of independent implementations, for the ignored "needs node" tests:
// panva's `dpop` package makes the proofs, `jose` computes the RFC 7638 thumbprints. Driven by
// tests/support/dpop_client.rs.
//
//   node dpop-client.mjs
//
// Reads one JSON request per line on stdin and answers one JSON line on stdout per request, in
// order. It prints `ready` first. Requests:
//
// - `{"op": "generate", "alg": "ES256" | "EdDSA" | "Ed25519" | "RS256" | "PS256"}`: a new key pair
//   (RSA 2048; EdDSA is `dpop`'s Ed25519). The private key is not extractable and never leaves
//   this process. Answers `{"key": "<id>", "jwk": <public JWK>, "thumbprint": "<RFC 7638, SHA-256>"}`.
// - `{"op": "proof", "key": "<id>", "htu": "...", "htm": "GET", "nonce"?: "...",
//   "access_token"?: "..."}`: `generateProof(keypair, htu, htm, nonce, accessToken)`. Answers
//   `{"proof": "<compact JWS>"}`.
//
// Any failure answers `{"error": "<message>"}` and the process goes on. It exits at the end of its
// input.
import * as readline from 'node:readline';

import { generateKeyPair, generateProof } from 'dpop';
import { calculateJwkThumbprint, exportJWK } from 'jose';

// `dpop` names the Ed25519 algorithm `Ed25519` (RFC 9864); JOSE's older name for it is `EdDSA`.
const DPOP_ALGS = {
  ES256: 'ES256',
  EdDSA: 'Ed25519',
  Ed25519: 'Ed25519',
  RS256: 'RS256',
  PS256: 'PS256',
};

const keys = new Map();
let next = 0;

async function answer(request) {
  switch (request.op) {
    case 'generate': {
      const alg = DPOP_ALGS[request.alg];
      if (!alg) {
        throw new Error(`unsupported alg ${JSON.stringify(request.alg)}`);
      }
      const keypair = await generateKeyPair(alg);
      next += 1;
      const id = `k${next}`;
      keys.set(id, keypair);
      const jwk = await exportJWK(keypair.publicKey);
      return { key: id, jwk, thumbprint: await calculateJwkThumbprint(jwk, 'sha256') };
    }
    case 'proof': {
      const keypair = keys.get(request.key);
      if (!keypair) {
        throw new Error(`unknown key ${JSON.stringify(request.key)}`);
      }
      const proof = await generateProof(
        keypair,
        request.htu,
        request.htm,
        request.nonce ?? undefined,
        request.access_token ?? undefined,
      );
      return { proof };
    }
    default:
      throw new Error(`unknown op ${JSON.stringify(request.op)}`);
  }
}

const lines = readline.createInterface({ input: process.stdin, terminal: false });
// One request at a time, answered in order.
let queue = Promise.resolve();
lines.on('line', (line) => {
  queue = queue.then(async () => {
    let response;
    try {
      response = await answer(JSON.parse(line));
    } catch (error) {
      response = { error: String(error?.message ?? error) };
    }
    process.stdout.write(`${JSON.stringify(response)}\n`);
  });
});
process.stdout.write('ready\n');
