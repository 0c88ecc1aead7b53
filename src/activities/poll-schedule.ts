/** The delay between status reads (pure: it lives beside the workflow code, which uses it too). */
export { pollDelayMs, type PollSchedule } from '../poll-schedule';
