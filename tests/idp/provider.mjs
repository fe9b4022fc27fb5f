// A real OIDC provider (node-oidc-provider) for MCP Gateway's client-authentication tests.
//
//   node provider.mjs --port 4000 [--prefix /realms/test] [--audience-prefix http://127.0.0.1]
//
// Issuer: http://127.0.0.1:<port><prefix>. Clients:
//   mcp-client  public, PKCE, authorization_code, redirect http://127.0.0.1:9/callback
//   machine     confidential (client_secret_basic, secret "machine-secret"), client_credentials
//   gateway     confidential (secret "gateway-secret"), used by the gateway to introspect tokens
// Resource indicators are on: a token requested for a resource (RFC 8707) is a JWT (ES256) whose
// aud is that resource; without one, access tokens are opaque (introspection). Interactions need
// no browser: GET /interaction/<uid> logs in the fixed account "test-user" and grants what was asked.
// Prints "READY <issuer>" on stdout once listening.
import http from 'node:http';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const port = Number(arg('port', '4000'));
const prefix = arg('prefix', '');
const issuer = `http://127.0.0.1:${port}${prefix}`;
const SCOPE = 'mcp:tools';

function jwk(type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid: `${alg.toLowerCase()}-${randomUUID()}`, alg, use: 'sig' };
}

const ACCOUNT = {
  sub: 'test-user',
  email: 'test-user@example.test',
  email_verified: true,
  groups: ['engineering'],
  realm_access: { roles: ['mcp-user'] },
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'mcp-client',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:9/callback'],
    },
    {
      client_id: 'machine',
      client_secret: 'machine-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
    {
      client_id: 'gateway',
      client_secret: 'gateway-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
  ],
  jwks: { keys: [jwk('rsa', { modulusLength: 2048 }, 'RS256'), jwk('ec', { namedCurve: 'P-256' }, 'ES256')] },
  cookies: { keys: ['mcpgw-test-cookie-key'] },
  scopes: ['openid', 'email', SCOPE],
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resourceIndicator) => ({
        scope: SCOPE,
        audience: resourceIndicator,
        accessTokenTTL: 600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  async findAccount(_ctx, id) {
    return { accountId: id, claims: async () => ({ ...ACCOUNT, sub: id }) };
  },
  async extraTokenClaims(_ctx, token) {
    if (token.accountId) {
      return {
        email: ACCOUNT.email,
        email_verified: ACCOUNT.email_verified,
        groups: ACCOUNT.groups,
        realm_access: ACCOUNT.realm_access,
      };
    }
    return undefined;
  },
  interactions: { url: (_ctx, interaction) => `${prefix}/interaction/${interaction.uid}` },
  pkce: { required: () => true },
  ttl: { AccessToken: 600, ClientCredentials: 600 },
});

async function interact(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params } = details;
  if (prompt.name === 'login') {
    await provider.interactionFinished(req, res, { login: { accountId: ACCOUNT.sub } }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(resource, scopes.join(' '));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  if (prefix) {
    if (!req.url.startsWith(prefix)) {
      res.writeHead(404).end();
      return;
    }
    req.originalUrl = req.url;
    req.url = req.url.slice(prefix.length) || '/';
  }
  if (req.method === 'GET' && req.url.startsWith('/interaction/')) {
    interact(req, res).catch((err) => {
      console.error(err);
      res.writeHead(500).end(String(err));
    });
    return;
  }
  callback(req, res);
});

server.listen(port, '127.0.0.1', () => {
  console.log(`READY ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
