// Preloaded into the conformance suite's Node process (`node --import ./bearer.mjs ...`) when it
// runs against the gateway: the suite has no option to send an Authorization header, and the
// gateway serves no server without a credential. This adds
// `Authorization: Bearer $MCPGW_CONFORMANCE_BEARER` to every HTTP request the process makes: through
// undici's global dispatcher, which both the global fetch and undici's own request() use, and
// around node:http's request(), which the header-validation scenarios use to send raw headers.
// The suite itself is unchanged.
import http from 'node:http';
import { Agent, setGlobalDispatcher } from 'undici';

const token = process.env.MCPGW_CONFORMANCE_BEARER;

function withAuthorization(headers, value) {
  if (headers == null) {
    return { authorization: value };
  }
  if (Array.isArray(headers)) {
    const pairs = [];
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() !== 'authorization') {
        pairs.push(headers[i], headers[i + 1]);
      }
    }
    return [...pairs, 'authorization', value];
  }
  const entries = typeof headers[Symbol.iterator] === 'function' ? [...headers] : Object.entries(headers);
  const kept = entries.filter(([name]) => String(name).toLowerCase() !== 'authorization');
  return { ...Object.fromEntries(kept), authorization: value };
}

if (token) {
  const value = `Bearer ${token}`;
  const addBearer = (dispatch) => (options, handler) =>
    dispatch({ ...options, headers: withAuthorization(options.headers, value) }, handler);
  setGlobalDispatcher(new Agent().compose(addBearer));

  const request = http.request;
  http.request = function requestWithBearer(...args) {
    // request(options[, callback]) or request(url[, options][, callback])
    const at = typeof args[0] === 'object' && !(args[0] instanceof URL) ? 0 : 1;
    if (typeof args[at] !== 'object' || args[at] === null) {
      args.splice(at, 0, {});
    }
    args[at] = { ...args[at], headers: withAuthorization(args[at].headers, value) };
    return request.apply(this, args);
  };
}
