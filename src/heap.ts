/**
 * How far V8 lets its heap grow past what it holds. The plan stage and the import-batch jobs
 * allocate fast and hold little (about 40 MB whatever the number of users), and by default V8 then
 * grows the heap up to four times what survived the last full collection, garbage it only later
 * collects: 150 MB of heap for 40 MB held in a 1,000,000-user sweep, whose peak RSS was then
 * 350 MB. A factor of 1.5 keeps it at 220 MB for about a quarter more CPU in the plan stage (a
 * factor of 2 cost a tenth more and peaked at 253 MB).
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 50;

/** Called once at start-up, before the heap has grown (it applies from the next full collection). */
export function keepHeapNearLive(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
