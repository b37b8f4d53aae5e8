// Placeholder until the command lands.
export const usage = 'Usage: sluice bridge (not yet implemented)\n';
export async function run(_args: string[]): Promise<number> {
  process.stderr.write('sluice bridge: not implemented yet\n');
  return 1;
}
