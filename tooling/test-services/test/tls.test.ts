import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { makeTlsCertificates, startEtcd, startNats, startRedis } from '../src/index.js';
import { useServerBinaries } from './support/binary-mode.js';
import { etcdHttps, natsPing, natsPingTls, type RawTls, redis } from './support/raw-protocols.js';

useServerBinaries();

const certs = makeTlsCertificates();
const trusted: RawTls = { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey };
const noClientCert: RawTls = { ca: certs.ca };
const otherCa = makeTlsCertificates();
const wrongCa: RawTls = { ca: otherCa.ca, cert: certs.clientCert, key: certs.clientKey };
// What node says when the server's chain does not lead to the given CA (Redis sends the chain,
// NATS and etcd only the leaf).
const UNTRUSTED = /self-signed certificate in certificate chain|unable to verify the first certificate/;
// The alert a server sends a client without a certificate (Redis: TLS 1.3; NATS and etcd: Go's TLS 1.2 alert).
const NO_CERT = /alert certificate required|alert bad certificate/;
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('makeTlsCertificates', () => {
  it('makes a CA, a server certificate for 127.0.0.1/localhost and a client certificate, both signed by it', () => {
    const ca = new X509Certificate(readFileSync(certs.caFile));
    const server = new X509Certificate(readFileSync(certs.certFile));
    const client = new X509Certificate(readFileSync(certs.clientCertFile));
    expect(ca.ca).toBe(true);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(client.verify(ca.publicKey)).toBe(true);
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(client.subject).toContain('CN=roster-client');
    expect(server.verify(new X509Certificate(otherCa.ca).publicKey)).toBe(false);
  });
});

describe('NATS with TLS', () => {
  it('serves tls:// to a client with a certificate from the CA; refuses plain text, a wrong CA and no client certificate', async () => {
    const server = await startNats({ tls: certs });
    expect(server.url).toMatch(/^tls:\/\/127\.0\.0\.1:\d+$/);
    expect(await natsPingTls(server.url, trusted)).toMatchObject({ jetstream: true, tls_required: true });
    await expect(natsPing(server.url)).rejects.toThrow(/connection closed/);
    await expect(natsPingTls(server.url, wrongCa)).rejects.toThrow(UNTRUSTED);
    await expect(natsPingTls(server.url, noClientCert)).rejects.toThrow(NO_CERT);
    await server.stop();
  });
});

describe('Redis with TLS', () => {
  it('serves rediss:// only; needs the CA and a client certificate', async () => {
    const server = await startRedis({ tls: certs });
    expect(server.url).toMatch(/^rediss:\/\/127\.0\.0\.1:\d+$/);
    expect(
      await redis(
        server.url,
        [
          ['SET', 'k', 'v'],
          ['GET', 'k'],
        ],
        2_000,
        trusted,
      ),
    ).toEqual(['OK', 'v']);
    await expect(redis(server.url, [['PING']], 1_000)).rejects.toThrow(/ECONNRESET|closed/);
    await expect(redis(server.url, [['PING']], 2_000, wrongCa)).rejects.toThrow(UNTRUSTED);
    await expect(redis(server.url, [['PING']], 2_000, noClientCert)).rejects.toThrow(NO_CERT);
    await server.restart(); // the readiness probe speaks TLS too
    expect(await redis(server.url, [['PING']], 2_000, trusted)).toEqual(['PONG']);
    await server.stop();
  });

  it('with requireClientCert: false, a client without a certificate is served', async () => {
    const server = await startRedis({ tls: { ...certs, requireClientCert: false } });
    expect(await redis(server.url, [['PING']], 2_000, noClientCert)).toEqual(['PONG']);
    await server.stop();
  });
});

describe('etcd with TLS', () => {
  it('serves https:// with client certificate auth; refuses a wrong CA and no client certificate', async () => {
    const server = await startEtcd({ tls: certs });
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await etcdHttps(server.url, '/v3/kv/put', { key: b64('roster/a'), value: b64('one') }, trusted);
    const range = (await etcdHttps(server.url, '/v3/kv/range', { key: b64('roster/a') }, trusted)) as {
      kvs?: { value: string }[];
    };
    expect(Buffer.from(range.kvs?.[0]?.value ?? '', 'base64').toString()).toBe('one');
    await expect(etcdHttps(server.url, '/v3/kv/range', { key: b64('roster/a') }, wrongCa)).rejects.toThrow(
      UNTRUSTED,
    );
    await expect(
      etcdHttps(server.url, '/v3/kv/range', { key: b64('roster/a') }, noClientCert),
    ).rejects.toThrow(NO_CERT);
    await server.stop();
  });
});
