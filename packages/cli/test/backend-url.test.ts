import { describe, expect, it } from 'vitest';
import { parseBackendUrl, redactUrl, UsageError } from '../src/index.js';

describe('parseBackendUrl', () => {
  it('memory', () => {
    expect(parseBackendUrl('memory:')).toEqual({ kind: 'memory', scheme: 'memory', hosts: [], tls: false });
    expect(parseBackendUrl('memory:?namespace=dev').namespace).toBe('dev');
    expect(parseBackendUrl('memory://').kind).toBe('memory');
  });

  it('nats with default port, several hosts, TLS scheme', () => {
    expect(parseBackendUrl('nats://127.0.0.1?namespace=x')).toMatchObject({
      kind: 'nats',
      hosts: ['127.0.0.1:4222'],
      namespace: 'x',
      tls: false,
    });
    expect(parseBackendUrl('nats://a:1,b:2,c').hosts).toEqual(['a:1', 'b:2', 'c:4222']);
    expect(parseBackendUrl('tls://nats.example.com').tls).toBe(true);
  });

  it('redis with credentials (percent-decoded) and a database', () => {
    expect(parseBackendUrl('redis://ops:p%40ss@10.0.0.1:6380/2?namespace=prod')).toEqual({
      kind: 'redis',
      scheme: 'redis',
      hosts: ['10.0.0.1:6380'],
      tls: false,
      username: 'ops',
      password: 'p@ss',
      database: 2,
      namespace: 'prod',
    });
    expect(parseBackendUrl('redis://:secret@h').password).toBe('secret');
    expect(parseBackendUrl('rediss://h').tls).toBe(true);
  });

  it('etcd with IPv6 and default port', () => {
    expect(parseBackendUrl('etcd://[::1]').hosts).toEqual(['[::1]:2379']);
    expect(parseBackendUrl('ETCD://e1:2379,e2:2379').hosts).toEqual(['e1:2379', 'e2:2379']);
  });

  it.each([
    'localhost:4222',
    'http://h:2379',
    'nats://',
    'nats://h:0',
    'nats://h:port',
    'etcd://h/path',
    'redis://h/db',
    'redis://h?namespace=',
    'redis://h?db=1',
    'memory://host',
    '',
  ])('rejects %j with a UsageError (exit 2)', (url) => {
    expect(() => parseBackendUrl(url)).toThrow(UsageError);
    try {
      parseBackendUrl(url);
    } catch (error) {
      expect((error as UsageError).exitCode).toBe(2);
      expect((error as UsageError).hint).toBeTruthy();
    }
  });

  it('never echoes a password in an error', () => {
    expect(() => parseBackendUrl('redis://u:topsecret@h:1/x')).toThrow(/u:\*\*\*@h:1/);
    expect(redactUrl('redis://u:topsecret@h')).toBe('redis://u:***@h');
    expect(redactUrl('nats://h:4222')).toBe('nats://h:4222');
  });
});
