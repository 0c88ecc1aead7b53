/**
 * The emulator's JSON config file: EmulatorOptions without the functions.
 */
import { readFileSync } from 'node:fs';
import { emulatorConfigSchema, EmulatorInputError, parseInput } from './schema';
import type { EmulatorOptions } from './types';

/** Reads and validates a config file; throws {@link EmulatorInputError} naming the file and the problem. */
export function loadEmulatorConfig(path: string): Omit<EmulatorOptions, 'now' | 'onRequest'> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new EmulatorInputError(`Cannot read the config file ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new EmulatorInputError(`The config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parseInput(emulatorConfigSchema, json, `config file ${path}`);
}
