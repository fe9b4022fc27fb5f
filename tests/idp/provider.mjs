// A real OIDC provider (node-oidc-provider) for MCP Gateway's client-authentication tests.
//
//   node provider.mjs --port 4000 [--prefix /realms/test] [--upstream-redirect URI] [--upstream-ttl SECONDS]
//
// Issuer: http://127.0.0.1:<port><prefix>. Clients:
//   mcp-client  public, PKCE, authorization_code, redirect http://127.0.0.1:9/callback
//   machine     confidential (client_secret_basic, secret "machine-secret"), client_credentials
//   gateway     confidential (secret "gateway-secret"), used by the gateway to introspect tokens and
//               to exchange them (RFC 8693 token exchange, registered with registerGrantType)
//   upstream-app confidential (secret "upstream-app-secret"), authorization_code + refresh_token,
//               the gateway's registration for per-user connections: redirect URI --upstream-redirect
//               (exactly), refresh tokens always issued and rotated on every use, access tokens
//               living --upstream-ttl seconds (default 600)
// Resource indicators are on: a token requested for a resource (RFC 8707) is a JWT (ES256) whose
// aud is that resource; without one, access tokens are opaque (introspection). Interactions need
// no browser: GET /interaction/<uid> logs in the account "test-user" (or ?account=<id>, the user
// typing their name) and grants what was asked.
// Prints "READY <issuer>" on stdout once listening.
import http from 'node:http';
import { createPublicKey, generateKeyPairSync, randomUUID, verify } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const port = Number(arg('port', '4000'));
const prefix = arg('prefix', '');
const issuer = `http://127.0.0.1:${port}${prefix}`;
const SCOPE = 'mcp:tools';
const upstreamRedirect = arg('upstream-redirect', 'http://127.0.0.1:9/oauth/callback');
const upstreamTTL = Number(arg('upstream-ttl', '600'));
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

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

const signingKeys = [jwk('rsa', { modulusLength: 2048 }, 'RS256'), jwk('ec', { namedCurve: 'P-256' }, 'ES256')];

function resourceServerInfo(resource, ttl) {
  return {
    scope: SCOPE,
    audience: resource,
    accessTokenTTL: ttl,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'ES256' } },
  };
}

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
      grant_types: ['client_credentials', TOKEN_EXCHANGE],
      response_types: [],
      redirect_uris: [],
    },
    {
      client_id: 'upstream-app',
      client_secret: 'upstream-app-secret',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [upstreamRedirect],
    },
  ],
  jwks: { keys: signingKeys },
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
      getResourceServerInfo: (_ctx, resourceIndicator, client) =>
        resourceServerInfo(resourceIndicator, client.clientId === 'upstream-app' ? upstreamTTL : 600),
    },
  },
  async findAccount(_ctx, id) {
    return { accountId: id, claims: async () => ({ ...ACCOUNT, sub: id }) };
  },
  async extraTokenClaims(_ctx, token) {
    if (token.accountId) {
      return {
        email: `${token.accountId}@example.test`,
        email_verified: ACCOUNT.email_verified,
        groups: ACCOUNT.groups,
        realm_access: ACCOUNT.realm_access,
        // RFC 8693 §4.1: an exchanged token names the party acting for the subject.
        ...(token.gty === 'token_exchange' ? { act: { sub: token.clientId } } : {}),
      };
    }
    return undefined;
  },
  // Refresh tokens for every client allowed the refresh_token grant, rotated on every use.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  interactions: { url: (_ctx, interaction) => `${prefix}/interaction/${interaction.uid}` },
  pkce: { required: () => true },
  ttl: {
    AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL || 600,
    ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL || 600,
  },
});

// RFC 8693 token exchange: a valid access token of this provider (a JWT it signed) is exchanged
// for one whose audience is the requested resource or audience, for the same subject.
function verifiedClaims(token) {
  const parts = String(token).split('.');
  if (parts.length !== 3) return undefined;
  let header;
  let claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url'));
  } catch {
    return undefined;
  }
  const key = signingKeys.find((k) => k.kid === header.kid && k.alg === header.alg);
  if (!key) return undefined;
  const { d, p, q, dp, dq, qi, ...publicJwk } = key;
  const options = { key: createPublicKey({ key: publicJwk, format: 'jwk' }) };
  if (key.alg === 'ES256') options.dsaEncoding = 'ieee-p1363';
  const ok = verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), options, Buffer.from(parts[2], 'base64url'));
  const now = Math.floor(Date.now() / 1000);
  if (!ok || claims.iss !== issuer || typeof claims.exp !== 'number' || claims.exp <= now || !claims.sub) return undefined;
  return claims;
}

provider.registerGrantType(
  TOKEN_EXCHANGE,
  async (ctx) => {
    const { client, params } = ctx.oidc;
    if (params.subject_token_type !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest('subject_token_type must be an access token');
    }
    const claims = verifiedClaims(params.subject_token);
    if (!claims || claims.client_id === client.clientId) {
      throw new errors.InvalidGrant('subject_token is invalid, expired, or not a user token of this provider');
    }
    const target = params.resource || params.audience;
    if (!target) throw new errors.InvalidTarget('name the resource or audience the token is for');
    const token = new provider.AccessToken({ accountId: claims.sub, client, gty: 'token_exchange', scope: SCOPE });
    token.resourceServer = new provider.ResourceServer(target, resourceServerInfo(target, 600));
    const value = await token.save();
    ctx.body = {
      access_token: value,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: token.expiration,
      scope: SCOPE,
    };
  },
  new Set(['subject_token', 'subject_token_type', 'requested_token_type', 'audience', 'resource', 'scope']),
);

async function interact(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params } = details;
  if (prompt.name === 'login') {
    const account = new URL(req.url, issuer).searchParams.get('account') || ACCOUNT.sub;
    await provider.interactionFinished(req, res, { login: { accountId: account } }, { mergeWithLastSubmission: false });
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
