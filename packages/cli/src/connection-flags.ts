import type { OptionSpecs, ParsedArgs } from './argv.js';

/** Credentials and TLS settings given as flags (or environment), never in shell history via the URL. */
export interface ConnectionFlags {
  readonly user?: string;
  readonly password?: string;
  readonly token?: string;
  readonly tls: boolean;
  readonly tlsCa?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
}

export const CONNECTION_OPTIONS: OptionSpecs = {
  user: {
    type: 'string',
    value: 'name',
    description: 'user name (NATS, Redis ACL, etcd auth); env ROSTER_USER',
  },
  password: { type: 'string', value: 'secret', description: 'password; prefer env ROSTER_PASSWORD' },
  token: { type: 'string', value: 'token', description: 'NATS auth token; env ROSTER_TOKEN' },
  tls: { type: 'boolean', description: 'connect with TLS (also tls://, rediss://, etcds:// URLs)' },
  'tls-ca': { type: 'string', value: 'file', description: 'CA certificate (PEM) to trust' },
  'tls-cert': { type: 'string', value: 'file', description: 'client certificate (PEM) for mutual TLS' },
  'tls-key': { type: 'string', value: 'file', description: 'client key (PEM) for mutual TLS' },
};

export function connectionFlags(args: ParsedArgs, env: Record<string, string | undefined>): ConnectionFlags {
  const pick = (flag: string, variable: string) => args.string(flag) ?? (env[variable] || undefined);
  const user = pick('user', 'ROSTER_USER');
  const password = pick('password', 'ROSTER_PASSWORD');
  const token = pick('token', 'ROSTER_TOKEN');
  const tlsCa = args.string('tls-ca');
  const tlsCert = args.string('tls-cert');
  const tlsKey = args.string('tls-key');
  return {
    tls: args.flag('tls') || Boolean(tlsCa || tlsCert || tlsKey),
    ...(user ? { user } : {}),
    ...(password ? { password } : {}),
    ...(token ? { token } : {}),
    ...(tlsCa ? { tlsCa } : {}),
    ...(tlsCert ? { tlsCert } : {}),
    ...(tlsKey ? { tlsKey } : {}),
  };
}
