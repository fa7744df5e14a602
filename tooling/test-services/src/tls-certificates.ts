import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary } from './binary-lookup.js';
import { trackTempDir } from './registry.js';

/**
 * What a server needs to serve TLS: its certificate and key, and the CA whose client
 * certificates it accepts. `makeTlsCertificates()` returns a superset of it.
 */
export interface TlsServerFiles {
  /** PEM of the CA that signed the client certificates the server accepts. */
  caFile: string;
  /** PEM server certificate (SAN `IP:127.0.0.1`, `DNS:localhost`). */
  certFile: string;
  /** PEM server key. */
  keyFile: string;
}

/** A throwaway CA with a server and a client certificate, in a temp dir removed at exit. */
export interface TlsCertificates extends TlsServerFiles {
  /** The temp dir holding every file. */
  dir: string;
  /** PEM client certificate (CN `roster-client`, `extendedKeyUsage=clientAuth`). */
  clientCertFile: string;
  /** PEM client key. */
  clientKeyFile: string;
  /** The CA certificate's PEM text, for clients that take contents rather than paths. */
  ca: string;
  /** The client certificate's PEM text. */
  clientCert: string;
  /** The client key's PEM text. */
  clientKey: string;
}

/** Options for {@link makeTlsCertificates}. */
export interface TlsCertificateOptions {
  /** Directories searched for `openssl`. Default: `PATH` and the usual system dirs. */
  searchPath?: readonly string[];
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function run(openssl: string, cwd: string, args: string[]): void {
  const result = spawnSync(openssl, args, { cwd, encoding: 'utf8', timeout: 20_000 });
  if (result.status !== 0) {
    throw new Error(
      `openssl ${args.join(' ')} failed (${result.error?.message ?? `code ${result.status}`}):\n${result.stderr}`,
    );
  }
}

/**
 * Makes a fresh CA and, signed by it, a server certificate for `127.0.0.1`/`localhost` and a client
 * certificate, with the `openssl` CLI (node:crypto cannot issue X.509 certificates). P-256 keys,
 * valid for two days. Each call makes an unrelated CA, so a second call gives "the wrong CA" for a
 * negative test.
 *
 * @example
 * ```ts
 * const certs = makeTlsCertificates();
 * const nats = await startNats({ tls: certs });
 * const nc = await connect({ servers: nats.url, tls: { caFile: certs.caFile, certFile: certs.clientCertFile, keyFile: certs.clientKeyFile } });
 * ```
 */
export function makeTlsCertificates(options: TlsCertificateOptions = {}): TlsCertificates {
  const openssl = findBinary(
    { name: 'openssl', debianPackage: 'openssl', envVar: '(none)' },
    options.searchPath,
  );
  const dir = mkdtempSync(join(tmpdir(), 'roster-tls-'));
  trackTempDir(dir);
  const days = ['-days', '2'];
  run(openssl, dir, [
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    ...days,
    '-subj',
    '/CN=roster test CA',
  ]);
  // Both EKUs on the server certificate: etcd's gRPC gateway dials its own server presenting it
  // as a client certificate when --client-cert-auth is on.
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  writeFileSync(join(dir, 'client.ext'), 'keyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n');
  for (const [name, subject] of [
    ['server', '/CN=localhost'],
    ['client', '/CN=roster-client'],
  ] as const) {
    run(openssl, dir, [
      'req',
      '-new',
      ...EC_KEY,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subject,
    ]);
    run(openssl, dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-set_serial',
      `0x${Date.now().toString(16)}${name === 'server' ? '1' : '2'}`,
      ...days,
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ]);
  }
  const file = (name: string) => join(dir, name);
  return {
    dir,
    caFile: file('ca.crt'),
    certFile: file('server.crt'),
    keyFile: file('server.key'),
    clientCertFile: file('client.crt'),
    clientKeyFile: file('client.key'),
    ca: readFileSync(file('ca.crt'), 'utf8'),
    clientCert: readFileSync(file('client.crt'), 'utf8'),
    clientKey: readFileSync(file('client.key'), 'utf8'),
  };
}

/** The `tls` option of `startNats`, `startRedis` and `startEtcd`. `makeTlsCertificates()` returns a fitting object. */
export interface ServerTlsOptions extends TlsServerFiles {
  /** Refuse clients without a certificate signed by `caFile` (NATS `--tlsverify`, Redis `tls-auth-clients yes`, etcd `--client-cert-auth`). Default true. */
  requireClientCert?: boolean;
  /**
   * Certificate and key the readiness probe presents when client certificates are required.
   * Default `certFile`/`keyFile` (then the server certificate needs the clientAuth usage).
   */
  clientCertFile?: string;
  clientKeyFile?: string;
}

/** Options for node:tls / node:https in the readiness probes: trust `caFile`, present the client certificate. */
export function probeTlsOptions(tls: ServerTlsOptions): { ca: string; cert: string; key: string } {
  return {
    ca: readFileSync(tls.caFile, 'utf8'),
    cert: readFileSync(tls.clientCertFile ?? tls.certFile, 'utf8'),
    key: readFileSync(tls.clientKeyFile ?? tls.keyFile, 'utf8'),
  };
}
