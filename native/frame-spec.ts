import type { WindowOperatorConfig } from '../actors/windows/index.ts';
import type { AggregateRef, FrameSpec } from './native-batch.ts';

/**
 * The fields a window reads, as the native path wants them; null when the window is
 * outside what the fast path reproduces exactly: session windows, count_distinct,
 * durations that are not whole milliseconds.
 */
export function frameSpecFor(config: WindowOperatorConfig, timeField: string): FrameSpec | null {
  const window = config.window;
  if (window.type === 'session') return null;
  const slideMs = window.type === 'hopping' ? window.slideMs : window.sizeMs;
  const whole = [window.sizeMs, slideMs, config.allowedLatenessMs, config.maxOutOfOrderMs];
  if (!whole.every((ms) => Number.isSafeInteger(ms))) return null;
  const fields = [timeField, ...config.groupBy];
  const aggregates: AggregateRef[] = [];
  for (const aggregate of config.aggregates) {
    if (aggregate.fn === 'count_distinct') return null;
    const kind = aggregate.fn === 'avg' ? 'sum' : aggregate.fn;
    if (aggregate.field === undefined) {
      aggregates.push({ kind });
      continue;
    }
    let field = fields.indexOf(aggregate.field, 1 + config.groupBy.length);
    if (field < 0) field = fields.push(aggregate.field) - 1;
    aggregates.push({ kind, field });
  }
  return {
    fields,
    groupBy: config.groupBy.length,
    aggregates,
    sizeMs: window.sizeMs,
    ...(slideMs === window.sizeMs ? {} : { slideMs }),
    allowedLatenessMs: config.allowedLatenessMs,
    maxOutOfOrderMs: config.maxOutOfOrderMs,
  };
}
