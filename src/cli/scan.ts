// Placeholder until the command lands.
export const usage = 'Usage: sluice scan (not yet implemented)\n';
export async function run(_args: string[]): Promise<number> {
  process.stderr.write('sluice scan: not implemented yet\n');
  return 1;
}
