/**
 * Gives a worker process the heap defaults it was not started with (WORKER_NODE_OPTIONS). V8 sizes
 * its heaps when the process starts, so the flags cannot be set from inside: the process starts
 * the same command again in a child with the flags added, and stays as a thin parent that relays
 * signals to the child and ends with the child's exit status. Nothing of the SDK is loaded before
 * that choice, so the parent costs a bare Node process.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { relayedChildEnv, WORKER_NODE_OPTIONS, workerHeapPlan } from './config';

/** Signals the parent passes on: the Runtime's shutdown signals, and SIGHUP. */
const RELAYED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGUSR2', 'SIGHUP'];
/** The Runtime's shutdown signals, which a relayed child can receive twice for one event. */
const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGUSR2'];
/** A shutdown signal this soon after the one that began the shutdown is that same event again. */
const DUPLICATE_WINDOW_MS = 1000;

/**
 * Runs `main` with the worker's heap defaults: here, when a heap flag is given, when
 * APS_WORKER_HEAP_DEFAULTS is `off`, or in the restarted child; otherwise in a child started with
 * the flags, and this process exits as the child does (never returning). `label` prefixes the
 * one-line warnings on stderr. A bad APS_WORKER_HEAP_DEFAULTS rejects with a ConfigError.
 */
export async function runWithWorkerHeapDefaults(main: () => Promise<void>, label = 'worker'): Promise<void> {
  const plan = workerHeapPlan(process.execArgv);
  if (plan.action === 'restart') {
    try {
      await relayToChild(plan.flags);
    } catch (err) {
      process.stderr.write(
        `${label}: could not restart with the heap defaults (${(err as Error).message}); running ` +
          `without them. Start Node with ${WORKER_NODE_OPTIONS} to have them.\n`,
      );
    }
  } else {
    if (plan.relayed) guardRelayedChild();
    if (plan.warning) process.stderr.write(`${label}: ${plan.warning}\n`);
  }
  await main();
}

/**
 * Starts this command again with `flags` in front, relays signals to it, and exits as it exits (a
 * signal it died of is raised again here). Rejects only when the child could not be started.
 */
function relayToChild(flags: readonly string[]): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    // The IPC channel is how the child learns that this process is gone (guardRelayedChild).
    const child = spawn(process.execPath, [...flags, ...process.execArgv, ...process.argv.slice(1)], {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      env: relayedChildEnv(),
    });
    let started = false;
    const forward = (signal: NodeJS.Signals): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    const stopForwarding = (): void => {
      for (const signal of RELAYED_SIGNALS) process.off(signal, forward);
    };
    for (const signal of RELAYED_SIGNALS) process.on(signal, forward);
    child.once('spawn', () => {
      started = true;
    });
    child.on('error', (err) => {
      if (started) return; // a failed kill of a child that is exiting anyway
      stopForwarding();
      reject(err);
    });
    child.once('exit', (code, signal) => {
      stopForwarding();
      if (signal) {
        process.kill(process.pid, signal);
        // Should the signal not end this process (ignored, say), still end with its usual code.
        setTimeout(() => process.exit(128 + (constants.signals[signal] ?? 0)), 1000);
        return;
      }
      process.exit(code ?? 1);
    });
  });
}

/**
 * In the restarted child. The parent relays every signal it gets, and when the signal came from a
 * terminal (Ctrl-C reaches the whole process group) or a service manager (systemd signals the
 * whole cgroup), the child gets it twice. The Runtime shuts down on the first and then stops
 * listening, so the second would kill the child mid-shutdown: a repeat within a second is taken
 * as the same event. A later one ends the process as it would without the relay.
 */
function guardRelayedChild(): void {
  // The parent is gone (killed with SIGKILL, say): nothing could stop this process any more.
  process.once('disconnect', () => process.kill(process.pid, 'SIGKILL'));
  process.channel?.unref();
  let shutdownAt: number | undefined;
  for (const signal of SHUTDOWN_SIGNALS) {
    const onSignal = (): void => {
      if (process.listenerCount(signal) > 1) {
        shutdownAt ??= Date.now(); // someone else (the Runtime) takes it
        return;
      }
      if (shutdownAt !== undefined && Date.now() - shutdownAt < DUPLICATE_WINDOW_MS) return;
      process.off(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}
