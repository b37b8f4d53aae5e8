// Placeholder until the command lands.
export const usage = 'Usage: sluice placeholders (not yet implemented)\n';
export async function run(_args: string[]): Promise<number> {
  process.stderr.write('sluice placeholders: not implemented yet\n');
  return 1;
}
