// A real OpenID Provider (panva's certified oidc-provider) for the ignored "needs node" tests of
// tests/oidc_provider.rs and examples/resource_server.rs.
//
//   node provider.mjs <port>
//
// Listens on http://127.0.0.1:<port> (the issuer; discovery at
// /.well-known/openid-configuration) and prints `listening <issuer>` on stdout once it does.
//
// - Clients (client credentials grant, client_secret_basic, secret "secret"): `client-RS256`,
//   `client-PS256`, `client-ES256`, `client-EdDSA`. Each one's access tokens are signed with the
//   algorithm in its name.
// - Resource indicators: any absolute URI is a resource server whose access tokens are JWTs
//   (`typ: at+jwt`, RFC 9068) with `aud` = the indicator and the scopes `notes:read notes:write`
//   (what the client asked for, within those).
// - Keys: one RSA 2048 key (no `alg`: it signs RS256 and PS256 alike), one P-256 key (oidc-provider
//   adds `alg: ES256` itself) and one Ed25519 key (no `alg`), as a deployment that hands
//   oidc-provider plain keys publishes them.
// - `POST /admin/rotate`: generates a new key of each type with new kids and puts them first, so the
//   provider signs with them from now on; the old keys stay published (a provider's rotation).
//   `POST /admin/rotate?retire=1` drops the old keys from the published set too. Answers the new
//   published JWK set. (Test-only: there is no authentication on it; it listens on loopback.)
// - DPoP (RFC 9449, `features.dPoP`): a token request that carries a `DPoP` proof (htu
//   `<issuer>/token`, signed with ES256, Ed25519/EdDSA, PS256 or RS256) gets a DPoP-bound access
//   token (`token_type: DPoP`, claim `cnf.jkt` = the proof key's thumbprint); without a proof the
//   token is a plain Bearer token. No server nonces.
// - Stop it by killing the process (provider down).
import * as http from 'node:http';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] ?? process.env.PORT);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node provider.mjs <port>');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

const ALGS = ['RS256', 'PS256', 'ES256', 'EdDSA'];
const SCOPES = ['notes:read', 'notes:write'];

let generation = 0;

// Private JWKs without `alg` and with a readable kid (oidc-provider would compute a thumbprint).
async function newKeys() {
  generation += 1;
  const exportPrivate = async (alg, options, kid) => {
    const { privateKey } = await jose.generateKeyPair(alg, { extractable: true, ...options });
    const jwk = await jose.exportJWK(privateKey);
    return { ...jwk, kid, use: 'sig' };
  };
  return [
    await exportPrivate('RS256', { modulusLength: 2048 }, `rsa-${generation}`),
    await exportPrivate('ES256', {}, `ec-${generation}`),
    await exportPrivate('EdDSA', { crv: 'Ed25519' }, `ed25519-${generation}`),
  ];
}

function configuration(keys) {
  return {
    clients: ALGS.map((alg) => ({
      client_id: `client-${alg}`,
      client_secret: 'secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys },
    scopes: ['openid', ...SCOPES],
    enabledJWA: {
      dPoPSigningAlgValues: ['ES256', 'Ed25519', 'EdDSA', 'PS256', 'RS256'],
    },
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: false },
      revocation: { enabled: false },
      devInteractions: { enabled: false },
      dPoP: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _client, oneOf) => oneOf,
        useGrantedResource: () => false,
        getResourceServerInfo: (_ctx, resourceIndicator, client) => {
          const alg = client.clientId.slice('client-'.length);
          return {
            scope: SCOPES.join(' '),
            audience: resourceIndicator,
            accessTokenTTL: 600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg } },
          };
        },
      },
    },
  };
}

let keys = await newKeys();
let provider = new Provider(issuer, configuration(keys));
let handler = provider.callback();

function publicSet() {
  // What the provider itself serves at its jwks_uri.
  return fetch(`${issuer}/jwks`).then((r) => r.json());
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, issuer);
  if (url.pathname === '/admin/rotate' && req.method === 'POST') {
    (async () => {
      const retire = url.searchParams.get('retire') === '1';
      const fresh = await newKeys();
      keys = retire ? fresh : [...fresh, ...keys];
      provider = new Provider(issuer, configuration(keys));
      handler = provider.callback();
      const body = JSON.stringify(await publicSet());
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    })().catch((error) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
    return;
  }
  handler(req, res);
});

server.listen(port, '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
