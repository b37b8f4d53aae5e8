// Placeholder until the command lands.
export const usage = 'Usage: sluice start (not yet implemented)\n';
export async function run(_args: string[]): Promise<number> {
  process.stderr.write('sluice start: not implemented yet\n');
  return 1;
}
