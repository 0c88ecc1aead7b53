/**
 * The fault book: scripted failures matched per action and per job, used up call by call, and
 * probabilistic ones decided by the seeded PRNG.
 */
import type { ActiveFault, ApsAction, FaultSpec } from './types';
import type { Prng } from './prng';

/** Holds armed faults in the order they were added; the first match wins. */
export class FaultBook {
  private faults: ActiveFault[] = [];
  private nextId = 1;

  constructor(private readonly prng: Prng) {}

  /** Arms a fault; returns its ID. */
  add(spec: FaultSpec): string {
    const id = `fault-${this.nextId++}`;
    const remaining = spec.times ?? (spec.rate !== undefined ? 'unlimited' : 1);
    this.faults.push({ ...spec, id, remaining });
    return id;
  }

  /** Faults not yet used up. */
  list(): ActiveFault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  /** Disarms one fault; false when it was not armed. */
  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    return this.faults.length !== before;
  }

  /** Disarms every fault. */
  clear(): void {
    this.faults = [];
  }

  /**
   * The fault that answers this call, if any, and uses one of its turns. A probabilistic fault
   * draws from the PRNG only for calls it matches, so the same call sequence replays the same
   * faults under the same seed.
   */
  take(action: ApsAction, apsJobId: string | undefined): ActiveFault | undefined {
    for (const fault of this.faults) {
      if (fault.action !== undefined && fault.action !== action) continue;
      if (fault.apsJobId !== undefined && fault.apsJobId !== apsJobId) continue;
      if (fault.rate !== undefined && this.prng.next() >= fault.rate) continue;
      if (fault.remaining !== 'unlimited') {
        fault.remaining -= 1;
        if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
      }
      return { ...fault };
    }
    return undefined;
  }
}
