// `sluice COMMAND …`: each command lives in its own file exporting `usage` and `run(args)`.
export interface Command {
  readonly usage: string;
  run(args: string[]): Promise<number>;
}

const COMMANDS: Record<string, () => Promise<Command>> = {
  start: () => import('./start.ts'),
  ca: () => import('./ca.ts'),
  check: () => import('./check.ts'),
  explain: () => import('./explain.ts'),
  test: () => import('./test-policies.ts'),
  scan: () => import('./scan.ts'),
  bridge: () => import('./bridge.ts'),
  placeholders: () => import('./placeholders.ts'),
};

const USAGE = `Usage: sluice COMMAND [options]

Commands:
  start [--config FILE]                 run the proxy
  ca init|show [--config FILE] [--env]  create the CA / print its certificate for agents to trust
  check [--config FILE]                 validate config and policies (exit 1 with file:line:col per error)
  explain [--agent ID] [--json] METHOD URL   print the decision for a request and why
  test [--config FILE] [FILES…]         run policy test fixtures against the policies
  scan --request|--response [--host H] [--content-type T] [--json|--jsonl] [FILE|-]
                                        run the guard on a body
  bridge --listen 127.0.0.1:3128 --socket PATH
                                        inside the agent container: TCP → the proxy's unix socket
  placeholders [--config FILE]          print the environment lines that give an agent its placeholders

Run 'sluice COMMAND --help' for a command's options.
`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`sluice: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.usage);
    return 0;
  }
  return command.run(rest);
}
