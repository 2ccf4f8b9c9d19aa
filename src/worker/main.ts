// The training child process (dist/worker.js). The runner forks it (no shell), sends one
// `{type:'start'}` over IPC and reads FromWorker messages back; `{type:'cancel'}` stops it between
// steps. It exits when its run ends or when the runner goes away (IPC disconnect): an orphan must
// never keep training. It writes no run history: the runner owns run.json.
import { initBackend } from '../engine/backend';
import { loadClassifier, saveClassifier, saveModelFolder } from '../engine/checkpoint';
import { startTorchFromModel } from '../engine/torch/engine';
import { selectEngine } from '../engine/torch/select';
import { loadTokenizer } from '../engine/tokenizer';
import { loadSplits } from '../data/imdb';
import { isToWorker, type FromWorker } from '../protocol';
import { runInWorker, type WorkerDeps } from './run';

const deps: WorkerDeps = {
  initBackend, loadSplits, loadTokenizer, loadClassifier, saveClassifier, saveModelFolder,
  selectEngine: (pref, python) => selectEngine(pref, python),
  startTorch: startTorchFromModel,
};

if (!process.send) {
  console.error('bert-lab worker: must be started by the runner (no IPC channel)');
  process.exit(2);
}

const abort = new AbortController();
let started = false;

function send(m: FromWorker): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve();
    process.send!(m, undefined, {}, () => resolve());
  });
}

process.on('disconnect', () => process.exit(0));
// Ctrl-C in a terminal reaches the whole process group: the runner decides (it sends 'cancel').
process.on('SIGINT', () => {});

process.on('message', (m: unknown) => {
  if (!isToWorker(m)) {
    void send({ type: 'log', level: 'warn', message: 'ignored a malformed message from the runner' });
    return;
  }
  if (m.type === 'cancel') {
    abort.abort();
    return;
  }
  if (started) return;
  started = true;
  let last: Promise<void> = Promise.resolve();
  runInWorker(m, (msg) => { last = send(msg); }, abort.signal, deps).then(
    async () => {
      await last; // the terminal message is delivered before we go
      process.disconnect();
      process.exit(0);
    },
    async (err: unknown) => {
      console.error(err instanceof Error ? err.stack ?? err.message : String(err));
      await last; // e.g. an out-of-memory restart request sent just before
      process.exit(1);
    },
  );
});
