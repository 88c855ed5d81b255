// A real OpenID provider (the `oidc-provider` package) on loopback, for servicekit's auth tests.
//
//   node tests/oidc/server.mjs --port 0
//
// Prints `listening on http://127.0.0.1:PORT` once ready. The client `servicekit-client`
// (secret `servicekit-secret`) may use the client credentials grant; access tokens are JWTs
// (resource indicators, RFC 8707) for two resources:
//   urn:servicekit:rs256  -> signed with RS256
//   urn:servicekit:es256  -> signed with ES256
// Admin endpoints (test only):
//   POST /admin/rotate  -> adds a new RS256 and ES256 key (new kids) that sign from now on;
//                          the old keys stay published. Answers {"rs256": kid, "es256": kid}.
//   GET  /admin/stats   -> {"token_requests": N}
import http from 'node:http';
import { generateKeyPairSync, randomUUID } from 'node:crypto';

import Provider from 'oidc-provider';

const args = process.argv.slice(2);
const portArg = args.indexOf('--port');
const port = portArg >= 0 ? Number(args[portArg + 1]) : 0;

const CLIENT = {
  client_id: 'servicekit-client',
  client_secret: 'servicekit-secret',
  grant_types: ['client_credentials'],
  redirect_uris: [],
  response_types: [],
  token_endpoint_auth_method: 'client_secret_basic',
  scope: 'students:read students:write',
};

const RESOURCES = {
  'urn:servicekit:rs256': 'RS256',
  'urn:servicekit:es256': 'ES256',
};

function newKey(alg) {
  const kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`;
  const pair = alg === 'RS256'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...pair.privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

let keys = [newKey('RS256'), newKey('ES256')];
let tokenRequests = 0;
let provider;

function build(issuer) {
  const p = new Provider(issuer, {
    clients: [CLIENT],
    scopes: ['openid', 'students:read', 'students:write'],
    jwks: { keys },
    cookies: { keys: [randomUUID()] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: false },
      revocation: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:servicekit:rs256',
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          const alg = RESOURCES[resource];
          if (!alg) {
            throw new Provider.errors.InvalidTarget();
          }
          return {
            scope: 'students:read students:write',
            audience: resource,
            accessTokenTTL: 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg } },
          };
        },
      },
    },
  });
  p.on('server_error', (_ctx, err) => console.error('server_error', err));
  return p;
}

const server = http.createServer((req, res) => {
  if (req.url === '/admin/rotate' && req.method === 'POST') {
    const rs = newKey('RS256');
    const es = newKey('ES256');
    // oidc-provider signs with the first key of an algorithm: put the new ones first.
    keys = [rs, es, ...keys];
    provider = build(provider.issuer);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ rs256: rs.kid, es256: es.kid }));
    return;
  }
  if (req.url === '/admin/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token_requests: tokenRequests }));
    return;
  }
  if (req.url.startsWith('/token') && req.method === 'POST') {
    tokenRequests += 1;
  }
  provider.callback()(req, res);
});

server.listen(port, '127.0.0.1', () => {
  const { port: bound } = server.address();
  provider = build(`http://127.0.0.1:${bound}`);
  console.log(`listening on http://127.0.0.1:${bound}`);
});

// Stop with the test: when stdin closes (the parent died) or on a signal.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
