/** The synthetic event generator: one module for tests, the demo, `sluice produce` and benchmarks. */
export {
  createGenerator,
  type EventGenerator,
  EventTiming,
  type GeneratedEvents,
  PAGE_COUNT,
} from './event-generator.ts';
export {
  type GeneratorClock,
  type GeneratorOptions,
  GeneratorOptionsError,
  type ResolvedGeneratorOptions,
} from './generator-options.ts';
