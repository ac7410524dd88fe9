/**
 * OIDC connect benchmark: what `OidcAuthenticator.authenticate` costs a
 * stream's connect once the provider's discovery document and JWKS are
 * cached, for RS256 (2048-bit RSA) and ES256 (P-256) access tokens, against
 * `jose.jwtVerify` alone as the floor (with the same cached remote JWKS, and
 * with the public key already imported).
 *
 *   npm run bench:oidc
 *
 * The provider is the tests' real `oidc-provider` on loopback; it is asked
 * only during warm-up. Candidates run in interleaved rounds (the harness'
 * rotated order) so that none enjoys a warmer JIT or a quieter machine; each
 * round runs one candidate back to back for ROUND_MS and the median time per
 * call over the rounds is reported with its spread (min–max).
 * Target: authenticate under 50 µs (CPU) per connect, per algorithm. A token
 * seen before (the dashboard's second stream, a reconnect) is measured apart:
 * it is remembered until its `exp` and not verified again.
 *
 * Takes `--rounds N` (default 9).
 */
import { createPublicKey, verify } from 'node:crypto';
import { base64url, createLocalJWKSet, createRemoteJWKSet, decodeJwt, importJWK, type JWK, jwtVerify } from 'jose';
import { OIDC_ALGORITHMS, OidcAuthenticator } from '../src/auth/oidc-authenticator.js';
import { DASHBOARD_CLIENT_ID, startOidcProvider } from '../test/support/oidc-provider.js';
import {
  describeLoad,
  describeSetup,
  interleaved,
  median,
  roundsOption,
  spreadOf,
  table,
  Verdicts,
  watchLoad,
} from './harness.js';

const ROUNDS = roundsOption(9);
const ROUND_MS = 300;
const TARGET_US = 50;

interface Sample {
  /** Wall-clock µs per call. */
  readonly wall: number;
  /** CPU µs per call, all threads of the process (WebCrypto verifies on libuv's pool): less sensitive to a busy host. */
  readonly cpu: number;
}

async function timeRound(fn: () => Promise<unknown>): Promise<Sample> {
  let calls = 0;
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ROUND_MS) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 100; i++) await fn();
    calls += 100;
    now = process.hrtime.bigint();
  }
  const cpu = process.cpuUsage(cpuStart);
  return { wall: Number(now - start) / 1e3 / calls, cpu: (cpu.user + cpu.system) / calls };
}

function publicPart(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...rest } = jwk;
  return rest;
}

console.log(describeSetup('Tidings OIDC connect benchmark'));
const load = watchLoad();
const provider = await startOidcProvider();
try {
  const config = { providerURL: provider.issuer, clientID: DASHBOARD_CLIENT_ID };
  // Every call a first sight of the token: the cost of verifying it.
  const authenticator = new OidcAuthenticator([config], { verifiedCacheSize: 0 });
  // The default: a token already verified (its other stream, a reconnect) is remembered until exp.
  const remembering = new OidcAuthenticator([config]);
  const discovery = (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as {
    jwks_uri: string;
  };
  const remote = createRemoteJWKSet(new URL(discovery.jwks_uri));
  const options = { issuer: provider.issuer, audience: DASHBOARD_CLIENT_ID, algorithms: [...OIDC_ALGORITHMS] };

  const candidates: Record<string, () => Promise<unknown>> = {};
  for (const alg of ['RS256', 'ES256'] as const) {
    const token = await provider.mint('admin', { alg, expiresInSec: 3600 });
    const key = await importJWK(publicPart(provider.privateJwks[alg]), alg);
    const local = createLocalJWKSet({ keys: [publicPart(provider.privateJwks[alg])] });
    candidates[`${alg} OidcAuthenticator.authenticate`] = async () => {
      const result = await authenticator.authenticate(token, 'ingest');
      if (!result.ok) throw new Error(result.message);
    };
    candidates[`${alg} OidcAuthenticator.authenticate, token seen before`] = async () => {
      const result = await remembering.authenticate(token, 'ingest');
      if (!result.ok) throw new Error(result.message);
    };
    candidates[`${alg} jwtVerify, cached remote JWKS`] = () => jwtVerify(token, remote, options);
    candidates[`${alg} jwtVerify, local JWKS`] = () => jwtVerify(token, local, options);
    candidates[`${alg} jwtVerify, imported key (floor)`] = () => jwtVerify(token, key, options);
    // What authenticate does beyond jwtVerify: read the unverified issuer to pick the provider.
    candidates[`${alg} decodeJwt (authenticate's extra step)`] = async () => decodeJwt(token).iss;
    // The signature check alone, synchronous, without JWT parsing: what any verifier must pay.
    const keyObject = createPublicKey({ key: publicPart(provider.privateJwks[alg]), format: 'jwk' });
    const signed = Buffer.from(token.slice(0, token.lastIndexOf('.')));
    const signature = base64url.decode(token.slice(token.lastIndexOf('.') + 1));
    const keySpec = alg === 'ES256' ? { key: keyObject, dsaEncoding: 'ieee-p1363' as const } : keyObject;
    candidates[`${alg} node:crypto.verify, signature only`] = async () => {
      if (!verify('sha256', signed, keySpec, signature)) throw new Error('bad signature');
    };
  }

  const names = Object.keys(candidates);
  for (const fn of Object.values(candidates)) await timeRound(fn); // warm-up; fills the caches
  const fetchesBefore = provider.requestCount('/jwks') + provider.requestCount('/.well-known/openid-configuration');
  const samples = await interleaved(ROUNDS, names, (name) => timeRound(candidates[name]!));
  const fetchesDuring =
    provider.requestCount('/jwks') + provider.requestCount('/.well-known/openid-configuration') - fetchesBefore;

  const walls = (name: string): number[] => (samples.get(name) ?? []).map((sample) => sample.wall);
  const cpus = (name: string): number[] => (samples.get(name) ?? []).map((sample) => sample.cpu);
  const us = (value: number): string => `${value.toFixed(1)} µs`;
  console.log(
    `\nper call, median (min–max) of ${ROUNDS} interleaved rounds of ${ROUND_MS} ms per candidate; ` +
      "CPU counts all threads of the process (WebCrypto verifies on libuv's pool)\n",
  );
  console.log(
    table(
      ['candidate', 'wall per call', 'CPU per call'],
      names.map((name) => [name, spreadOf(walls(name), us), spreadOf(cpus(name), us)]),
    ),
  );
  console.log(`\n${describeLoad(load.stop())}`);

  const verdicts = new Verdicts();
  for (const alg of ['RS256', 'ES256'] as const) {
    for (const [suffix, what] of [
      ['', 'first sight of the token'],
      [', token seen before', 'token seen before'],
    ] as const) {
      const cpu = median(cpus(`${alg} OidcAuthenticator.authenticate${suffix}`));
      verdicts.check(
        `${alg} authenticate < ${TARGET_US} µs per connect, cached JWKS, ${what} (CPU, median of rounds)`,
        us(cpu),
        cpu < TARGET_US,
      );
    }
  }
  for (const alg of ['RS256', 'ES256']) {
    const authenticate = `${alg} OidcAuthenticator.authenticate`;
    const floor = `${alg} jwtVerify, imported key (floor)`;
    verdicts.note(
      `${alg}: authenticate minus the jwtVerify floor: wall ${us(median(walls(authenticate)) - median(walls(floor)))}, ` +
        `CPU ${us(median(cpus(authenticate)) - median(cpus(floor)))}`,
    );
  }
  verdicts.note(
    `requests to the provider during the measured rounds: ${fetchesDuring} (${fetchesDuring === 0 ? 'cache held' : 'cache NOT held'})`,
  );
  verdicts.print();
} finally {
  await provider.stop();
}
