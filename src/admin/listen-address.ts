// "HOST:PORT" for the admin listener, with IPv6 in brackets ("[::1]:9090"). Port 0 asks the OS for one.
export function parseHostPort(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[3]) : NaN;
  const host = m ? (m[1] ?? m[2]) : undefined;
  if (host === undefined || !Number.isInteger(port) || port > 65535) {
    throw new TypeError(`admin listen address must be "HOST:PORT" (IPv6 as "[::1]:9090"), got ${JSON.stringify(listen)}`);
  }
  return { host, port };
}
