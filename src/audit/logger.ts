// One pino logger per Sluice instance (no module-level state), JSON lines on stdout (or a given stream).
import pino, { type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Header and field names that could carry a credential, masked by pino as a second net. */
const REDACT_PATHS = [
  'headers.authorization',
  'headers["proxy-authorization"]',
  'headers.cookie',
  'token',
  'secret',
  'value',
  '*.token',
  '*.secret',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
