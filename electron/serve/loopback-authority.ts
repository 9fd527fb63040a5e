/**
 * Which `Host` and `Origin` values the bridge answers. A page on another site can point its own
 * DNS name at 127.0.0.1 (DNS rebinding) and then send requests the browser counts as its own
 * origin; such requests still carry that name in `Host`, so only the loopback names of the bound
 * address are accepted.
 */
import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';

export interface LoopbackAuthority {
  /** `host:port` values a request's `Host` header may carry, lower-case. */
  readonly hosts: ReadonlySet<string>;
  /** The address to print: the bound one, IPv6 in brackets. */
  readonly printed: string;
}

const loopbackAddresses = new Set(['127.0.0.1', '::1']);

function bracketed(address: string): string {
  return isIPv6(address) ? `[${address}]` : address;
}

export function loopbackAuthority(boundAddress: string, port: number): LoopbackAuthority {
  const names = [bracketed(boundAddress)];
  if (loopbackAddresses.has(boundAddress)) names.push('localhost');
  const hosts = new Set(names.map((name) => `${name}:${port}`.toLowerCase()));
  // A browser leaves the default port out of `Host`.
  if (port === 80) for (const name of names) hosts.add(name.toLowerCase());
  return { hosts, printed: `${bracketed(boundAddress)}:${port}` };
}

/** The request's `Host` when it names this server; null for anything else, or none. */
export function acceptedHost(request: IncomingMessage, authority: LoopbackAuthority): string | null {
  const host = request.headers.host?.toLowerCase();
  return host !== undefined && authority.hosts.has(host) ? host : null;
}

/** A page from another site must not drive the studio even if it learnt the port and token. */
export function originAllowed(request: IncomingMessage, authority: LoopbackAuthority): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  const lowered = origin.toLowerCase();
  if (!lowered.startsWith('http://')) return false;
  return authority.hosts.has(lowered.slice('http://'.length));
}

export function misdirectedSentence(authority: LoopbackAuthority): string {
  return `This studio answers only requests addressed to http://${authority.printed} or its localhost name; open the address that \`npm run serve\` printed.`;
}
