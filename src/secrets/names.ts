// Secret names are written by the operator in policies; they end up in argv (command), URL paths (vault) and
// file names (dir), so they are restricted to a conservative alphabet everywhere.

const SECRET_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function isValidSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Shorter values are not searched by the known-secret guard: they would match ordinary text. */
export const MIN_KNOWN_SECRET_LENGTH = 8;
