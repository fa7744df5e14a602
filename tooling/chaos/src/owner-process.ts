// Child process entry: one OwnerAgent. argv[2] is JSON { spec, namespace, ttl }; commands arrive
// over IPC as { seq, command }, reports go back over IPC. The parent kills it with SIGKILL or
// freezes it with SIGSTOP; it never exits on its own.
import { makeBackend } from './backend-spec.js';
import { OwnerAgent, type OwnerCommand } from './owner-agent.js';

const { spec, namespace, ttl } = JSON.parse(process.argv[2] ?? '{}');
const send = (message: unknown) => process.send?.(message);
const agent = new OwnerAgent((report) => send(report));
process.on('message', (message: { seq: number; command: OwnerCommand }) => {
  void agent.handle(message.command, message.seq);
});
process.on('disconnect', () => process.exit(0));
await agent.start(() => makeBackend(spec, namespace).backend, ttl);
