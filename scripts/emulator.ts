/**
 * Runs the local APS emulator: `npx tsx scripts/emulator.ts --port 9000 [--config file] [--host 127.0.0.1]`.
 */
import { runEmulatorCli } from '../src/emulator/cli';

void runEmulatorCli(process.argv.slice(2));
