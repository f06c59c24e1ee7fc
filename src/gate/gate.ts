/**
 * The input gate: does this input look like a frontal chest X-ray of the kind the model was trained on? Cheap
 * checks first (src/gate/checks.ts), then the learned check (src/gate/learned.ts) when the model carries one
 * (`metadata.gate`). Every scoring path asks it (src/predict/predictor.ts for predict, serve, pacs and queue;
 * `cxr evaluate`; `cxr explore`), and the browser app can run it on the device (no Node imports here).
 */
import type { GateConfig } from '../model/gate-config.ts';
import {
  type CheckFailure,
  cheapChecks,
  type GateCheck,
  type ImageFacts,
  NOT_A_CHEST_XRAY,
} from './checks.ts';
import { LearnedCheck } from './learned.ts';

export type { GateCheck, ImageFacts } from './checks.ts';

/** The gate's decision on one input. */
export interface GateVerdict {
  passed: boolean;
  /** The check that refused it. */
  check?: GateCheck;
  /** Why, in plain language (shown in the worklist as the row's `reason`). */
  reason?: string;
  /** The learned check's distance and threshold, when it ran. */
  distance?: number;
  threshold?: number;
}

export interface InputGateOptions {
  /** Run the learned check when the model has one (default true; `--no-gate` turns it off for research). */
  learned?: boolean;
}

/** Rounds a distance for display. */
function shown(value: number): string {
  return value.toFixed(value < 10 ? 2 : 1);
}

export class InputGate {
  /** The learned check, or null (no gate data in the model, or turned off). */
  readonly learned: LearnedCheck | null;
  /** Why the gate is weaker than it could be (shown once per run). */
  readonly warnings: string[];

  private constructor(learned: LearnedCheck | null, warnings: string[]) {
    this.learned = learned;
    this.warnings = warnings;
  }

  /** The gate for a model, from its `metadata.gate`; without one, cheap checks only and a warning. */
  static forModel(metadata: { gate?: GateConfig }, options: InputGateOptions = {}): InputGate {
    if (options.learned === false) {
      return new InputGate(null, ['input gate: learned check turned off (--no-gate); cheap checks only']);
    }
    if (!metadata.gate) {
      return new InputGate(null, [
        'input gate: this model has no gate data (metadata.gate); only the cheap checks run. ' +
          'Fit it with `cxr gate --model DIR --data DIR`',
      ]);
    }
    return new InputGate(new LearnedCheck(metadata.gate.learned), []);
  }

  /** A gate with the cheap checks only (no model at hand). */
  static cheapOnly(): InputGate {
    return new InputGate(null, []);
  }

  /** Width of the penultimate features the learned check needs, or 0 when it does not run. */
  get featureSize(): number {
    return this.learned?.featureSize ?? 0;
  }

  /** The cheap checks on one input (its facts and model-size pixels). */
  cheap(facts: ImageFacts, pixels: Uint8Array): CheckFailure | null {
    return cheapChecks(facts, pixels);
  }

  /**
   * Verdicts for n inputs: `facts[i]`, model-size pixels back to back, and (when the learned check runs) their
   * penultimate features back to back (n × featureSize).
   */
  judge(
    facts: readonly ImageFacts[],
    pixels: Uint8Array,
    imageSize: number,
    features?: ArrayLike<number> | null,
  ): GateVerdict[] {
    const area = imageSize * imageSize;
    const verdicts: GateVerdict[] = facts.map((f, i) => {
      const failure = cheapChecks(f, pixels.subarray(i * area, (i + 1) * area));
      return failure ? { passed: false, ...failure } : { passed: true };
    });
    if (!this.learned || facts.length === 0) return verdicts;
    if (!features || features.length !== facts.length * this.learned.featureSize) {
      throw new Error(
        `input gate: expected ${facts.length} × ${this.learned.featureSize} penultimate features for the learned check`,
      );
    }
    const distances = this.learned.distances({ features, pixels }, imageSize);
    const threshold = this.learned.threshold;
    return verdicts.map((verdict, i) => {
      const distance = distances[i];
      if (!verdict.passed) return { ...verdict, distance, threshold };
      if (distance <= threshold) return { passed: true, distance, threshold };
      return {
        passed: false,
        check: 'learned',
        reason:
          `${NOT_A_CHEST_XRAY} of the kind the model was trained on ` +
          `(atypical image: distance ${shown(distance)}, limit ${shown(threshold)})`,
        distance,
        threshold,
      };
    });
  }
}
