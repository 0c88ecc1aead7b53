/**
 * `adb-aps-temporal/emulator`: the local APS emulator (ACS3 signatures checked, scripted jobs and
 * faults) for tests and demos of your own.
 */
export * from '../emulator';
