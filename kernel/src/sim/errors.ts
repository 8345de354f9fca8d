/**
 * Typed errors for the whole simulator.
 *
 * Every error that comes from bad input names the parameter, the value it got and the range it
 * accepts, so that a notebook user can fix the call without reading our source (fast-check's
 * "fc.integer maximum value should be …" is the model). Errors are thrown before any state is
 * changed, so a rejected call leaves the simulation as it was.
 */
import { describeValue as describeContractValue } from "../contract/payload.js";

/** Base class: `instanceof MmulabError` catches everything the simulator throws on purpose. */
export class MmulabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A parameter outside its accepted range or of the wrong kind. */
export class ParameterError extends MmulabError {
  readonly parameter: string;
  readonly value: unknown;
  readonly accepted: string;
  constructor(parameter: string, value: unknown, accepted: string, context?: string) {
    super(
      `${context ? `${context}: ` : ""}${parameter} = ${describeValue(value)} is not accepted; ` +
        `expected ${accepted}`,
    );
    this.parameter = parameter;
    this.value = value;
    this.accepted = accepted;
  }
}

/** A name (profile, backend, scenario, host …) that is not one of the known ones. */
export class UnknownNameError extends ParameterError {
  readonly valid: readonly string[];
  constructor(parameter: string, value: string, valid: readonly string[], context?: string) {
    super(parameter, value, `one of ${valid.map((v) => JSON.stringify(v)).join(", ")}`, context);
    this.valid = valid;
  }
}

/** A process yielded something the engine does not know how to wait for. */
export class InvalidYieldError extends MmulabError {
  readonly process: string;
  readonly yielded: unknown;
  constructor(processName: string, yielded: unknown) {
    super(
      `process "${processName}" yielded ${describeValue(yielded)}; a process may yield a delay in ` +
        `nanoseconds (a non-negative integer), spin(signal, predicate), waitFor(event) or ` +
        `another Process`,
    );
    this.process = processName;
    this.yielded = yielded;
  }
}

/** An operation that the modelled kernel forbids in the current state (e.g. a waiting
 * cross-call with interrupts disabled, which the kernel WARNs about because it can deadlock). */
export class KernelStateError extends MmulabError {
  readonly operation: string;
  constructor(operation: string, reason: string) {
    super(`${operation}: ${reason}`);
    this.operation = operation;
  }
}

/** The simulation was stopped from outside (notebook interrupt, budget). */
export class SimulationStopped extends MmulabError {}

/**
 * A value as an error message shows it: the contract's rendering (one for payloads and
 * parameters alike), except that a missing parameter reads "undefined", the word a caller wrote.
 */
export function describeValue(value: unknown): string {
  return value === undefined ? "undefined" : describeContractValue(value);
}

/** Checks that `value` is an integer in [min, max]; throws a ParameterError naming it otherwise. */
export function checkInt(
  parameter: string,
  value: unknown,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
  context?: string,
): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range =
      max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    throw new ParameterError(parameter, value, range, context);
  }
  return value;
}

/** Checks that `value` is a finite number in [min, max]. */
export function checkNumber(
  parameter: string,
  value: unknown,
  min: number,
  max: number = Number.POSITIVE_INFINITY,
  context?: string,
): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    const range =
      max === Number.POSITIVE_INFINITY ? `a number >= ${min}` : `a number from ${min} to ${max}`;
    throw new ParameterError(parameter, value, range, context);
  }
  return value;
}

/**
 * Checks an options object: `undefined` reads as `{}`; anything but a plain object (null, an
 * array, a string …) is a ParameterError, and so is a key outside `allowed` — a misspelt option
 * must not be ignored. Only own keys count, so names inherited from Object.prototype
 * ("toString", "constructor") are never taken for options.
 */
export function checkOptions(
  parameter: string,
  value: unknown,
  allowed: readonly string[],
  context?: string,
): Readonly<Record<string, unknown>> {
  if (value === undefined) return {};
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new ParameterError(parameter, value, `an object with ${allowed.join(", ")}`, context);
  for (const key of Object.keys(value))
    if (!allowed.includes(key))
      throw new UnknownNameError(`${parameter} key`, key, allowed, context);
  return value as Readonly<Record<string, unknown>>;
}

/** Checks an optional boolean; `undefined` gives `fallback`. */
export function checkBool(
  parameter: string,
  value: unknown,
  fallback: boolean,
  context?: string,
): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean")
    throw new ParameterError(parameter, value, "true or false", context);
  return value;
}

/** Checks that `value` is one of `names` (a string, compared exactly). */
export function checkName<N extends string>(
  parameter: string,
  value: unknown,
  names: readonly N[],
  context?: string,
): N {
  if (typeof value !== "string" || !(names as readonly string[]).includes(value))
    throw new UnknownNameError(
      parameter,
      typeof value === "string" ? value : describeValue(value),
      names,
      context,
    );
  return value as N;
}

/**
 * Checks a list of names: an array of at least one of `names`, none twice. `undefined` gives
 * `fallback`.
 */
export function checkNameList<N extends string>(
  parameter: string,
  value: unknown,
  names: readonly N[],
  fallback: readonly N[],
  context?: string,
): N[] {
  if (value === undefined) return [...fallback];
  const accepted = `a non-empty array of ${names.map((n) => JSON.stringify(n)).join(", ")}, each at most once`;
  if (!Array.isArray(value) || value.length === 0)
    throw new ParameterError(parameter, value, accepted, context);
  const list = value as unknown[];
  list.forEach((v, i) => checkName(`${parameter}[${i}]`, v, names, context));
  if (new Set(list).size !== list.length)
    throw new ParameterError(parameter, value, accepted, context);
  return list as N[];
}
