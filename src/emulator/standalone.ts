/**
 * Process entry of the emulator in the container image:
 * `node lib/emulator/standalone.js --host 0.0.0.0 --port 9000`.
 */
import { runEmulatorCli } from './cli';

void runEmulatorCli(process.argv.slice(2));
