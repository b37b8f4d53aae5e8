// Placeholder until the command lands.
export const usage = 'Usage: sluice test-policies (not yet implemented)\n';
export async function run(_args: string[]): Promise<number> {
  process.stderr.write('sluice test-policies: not implemented yet\n');
  return 1;
}
