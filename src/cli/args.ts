// A small strict argument parser: unknown flags are usage errors (exit 2), never ignored.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {}

export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: T,
  usage: string,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } | null {
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: values as Record<string, string | boolean | string[] | undefined>, positionals };
  } catch (e) {
    process.stderr.write(`sluice: ${(e as Error).message}\n\n${usage}`);
    return null;
  }
}

export const CONFIG_OPTION = { config: { type: 'string', short: 'c' } } as const;

/** The config path: --config, else ./sluice.yaml if it exists (loadConfig falls back to defaults). */
export function configPath(values: Record<string, unknown>): { file: string; explicit: boolean } {
  const v = values['config'];
  return typeof v === 'string' ? { file: v, explicit: true } : { file: 'sluice.yaml', explicit: false };
}
