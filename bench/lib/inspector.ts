// CPU profiling of a running Node process over its inspector (started with --inspect=127.0.0.1:PORT):
// Profiler.start before the load, Profiler.stop after it. Unlike --cpu-prof this does not depend on the
// process exiting cleanly, and the profile covers exactly the load window.
import { sleep } from './procs.ts';

export interface InspectorSession {
  call(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): void;
}

export async function connectInspector(port: number, timeoutMs = 15_000): Promise<InspectorSession> {
  const deadline = Date.now() + timeoutMs;
  let wsUrl: string | undefined;
  while (!wsUrl && Date.now() < deadline) {
    try {
      const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{ webSocketDebuggerUrl?: string }>;
      wsUrl = list[0]?.webSocketDebuggerUrl;
    } catch {
      await sleep(200);
    }
  }
  if (!wsUrl) throw new Error(`no inspector on 127.0.0.1:${port}`);
  const ws = new WebSocket(wsUrl);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error('inspector WebSocket failed')), { once: true });
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  ws.addEventListener('message', (ev) => {
    const msg = JSON.parse(String(ev.data)) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
    if (msg.id === undefined) return;
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) p?.reject(new Error(msg.error.message));
    else p?.resolve(msg.result ?? {});
  });
  return {
    call(method, params = {}) {
      const id = nextId++;
      ws.send(JSON.stringify({ id, method, params }));
      return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
    },
    close: () => ws.close(),
  };
}
